import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { acs3Authorization, acs3CanonicalQuery, acsDatetime, ossDatetime, ossV4Authorization, rfc3986, sha256Hex } from '../../shared/clients/signing';

/**
 * Our hand-written signers (shared/clients/signing.ts) against the worked examples in Alibaba Cloud's documentation:
 * the fixed inputs and every published intermediate value (canonical request, string to sign, signature), copied
 * from the pages. test/unit/signing.test.ts checks the same functions against the official clients.
 */

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

// ---------------------------------------------------------------------------------------------------------------
// OpenAPI V3 (ACS3-HMAC-SHA256)
//
// "Request syntax and signature method V3" / "V3版本请求体&签名机制" (one topic, doc id 2593177), section
// "Signature examples" → "Fixed parameter values" and the four steps that follow it:
//   https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
//     (the same topic at https://www.alibabacloud.com/help/en/resource-management/common-parameters, Last Updated
//     Nov 10, 2025, the revision these values were copied from; the later revision at
//     https://www.alibabacloud.com/help/en/doc-detail/2593177.htm, Last Updated Aug 28, 2026, still shows the same
//     Authorization example)
//   https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature
//     (https://help.aliyun.com/document_detail/2593177.html, 更新时间 2025-01-06 05:37:12, same Authorization example)
// ---------------------------------------------------------------------------------------------------------------

const ACS3_CREDENTIALS = { accessKeyId: 'YourAccessKeyId', accessKeySecret: 'YourAccessKeySecret' };
const ACS3_QUERY = { ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd', RegionId: 'cn-shanghai' };
/** Step 1, "Construct a canonicalized request", as printed. */
const ACS3_CANONICAL_REQUEST = [
  'POST',
  '/',
  'ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai',
  'host:ecs.cn-shanghai.aliyuncs.com',
  'x-acs-action:RunInstances',
  'x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'x-acs-date:2023-10-26T10:22:32Z',
  'x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d',
  'x-acs-version:2014-05-26',
  '',
  'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version',
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
].join('\n');
/** Step 2, "Construct a string-to-sign". */
const ACS3_STRING_TO_SIGN = 'ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259';
/** Step 3, "Calculate the signature string". */
const ACS3_SIGNATURE = '06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0';
/** Step 4, "Add the signature string to the request". */
const ACS3_AUTHORIZATION =
  'ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0';

describe('OpenAPI V3 signature: the documentation\'s "Signature examples" (RunInstances on ECS)', () => {
  // Doc: https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
  // (Last Updated Nov 10, 2025 for the revision copied; zh: 2025-01-06). The example's own steps agree with each other.
  it('the example is self-consistent: its canonical request hashes to its string to sign, which signs to its signature', () => {
    assert.equal(`ACS3-HMAC-SHA256\n${sha256Hex(ACS3_CANONICAL_REQUEST)}`, ACS3_STRING_TO_SIGN);
    assert.equal(createHmac('sha256', ACS3_CREDENTIALS.accessKeySecret).update(ACS3_STRING_TO_SIGN).digest('hex'), ACS3_SIGNATURE);
    // "Sample value when the request body is empty" (HashedRequestPayload).
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  // Doc: https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
  // (Last Updated Nov 10, 2025 for the revision copied; zh: 2025-01-06).
  it('acs3Authorization gives the example\'s Authorization byte for byte (so it built the example\'s canonical request)', () => {
    // The signature is HMAC(secret, "ACS3-HMAC-SHA256\n" + SHA-256(canonical request)): equal signatures mean our
    // canonical request is the printed one. The headers are given in the order of the doc's final request listing,
    // with its two unsigned headers (user-agent, accept), to show they are sorted and filtered.
    const authorization = acs3Authorization(
      {
        method: 'POST',
        pathname: '/',
        query: ACS3_QUERY,
        headers: {
          'x-acs-action': 'RunInstances',
          host: 'ecs.cn-shanghai.aliyuncs.com',
          'x-acs-date': acsDatetime(new Date('2023-10-26T10:22:32Z')),
          'x-acs-version': '2014-05-26',
          'x-acs-content-sha256': sha256Hex(''),
          'x-acs-signature-nonce': '3156853299f313e23d1673dc12e1703d',
          'user-agent': 'AlibabaCloud (Mac OS X; x86_64) Java/1.8.0_352-b08 tea-util/0.2.6 TeaDSL/1',
          accept: 'application/json',
        },
      },
      ACS3_CREDENTIALS,
    );
    assert.equal(authorization, ACS3_AUTHORIZATION);
  });

  // Doc: https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
  // (Last Updated Nov 10, 2025 for the revision copied; zh: 2025-01-06): "CanonicalQueryString" example and the
  // x-acs-date format (yyyy-MM-ddTHH:mm:ssZ, UTC).
  it('acs3CanonicalQuery and acsDatetime give the example\'s canonical query string and x-acs-date', () => {
    assert.equal(acs3CanonicalQuery({ RegionId: 'cn-shanghai', ImageId: ACS3_QUERY.ImageId }), ACS3_CANONICAL_REQUEST.split('\n')[2]);
    assert.equal(acsDatetime(new Date(Date.UTC(2023, 9, 26, 10, 22, 32, 789))), '2023-10-26T10:22:32Z');
  });

  // Doc: https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
  // (Last Updated Nov 10, 2025 for the revision copied): "Canonicalized URI" encoding rules and table of special
  // characters: unreserved characters as they are, others %XX in upper case ('"' → %22), space → %20, * → %2A, ~ as is.
  it('rfc3986 follows the encoding rules of the V3 document', () => {
    assert.equal(rfc3986('AZaz09-_.~'), 'AZaz09-_.~');
    assert.equal(rfc3986('"'), '%22');
    assert.equal(rfc3986(' '), '%20');
    assert.equal(rfc3986('*'), '%2A');
    assert.equal(rfc3986('~'), '~');
    // The rest of the RFC 3986 reserved set that encodeURIComponent leaves alone, and a UTF-8 multi-byte character.
    assert.equal(rfc3986("!'()"), '%21%27%28%29');
    assert.equal(rfc3986('猫/+='), '%E7%8C%AB%2F%2B%3D');
  });

  // Doc: https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
  // (Last Updated Nov 10, 2025 for the revision copied; zh: 2025-01-06). A flaw in the doc, pinned so it is not
  // mistaken for ours: step 4's request listing (and the "HTTP request syntax" table) carries the Authorization signed
  // above, but with x-acs-date 2023-10-26T09:01:01Z and x-acs-signature-nonce d410180a5abf7fe235dd9b74aca91fc0
  // instead of the 10:22:32Z and 3156853299… that were signed. Those headers do not give that signature.
  it('the example\'s final request listing shows a date and nonce other than the ones it signed (doc inconsistency)', () => {
    const listed = acs3Authorization(
      {
        method: 'POST',
        pathname: '/',
        query: ACS3_QUERY,
        headers: {
          host: 'ecs.cn-shanghai.aliyuncs.com',
          'x-acs-action': 'RunInstances',
          'x-acs-content-sha256': sha256Hex(''),
          'x-acs-date': '2023-10-26T09:01:01Z',
          'x-acs-signature-nonce': 'd410180a5abf7fe235dd9b74aca91fc0',
          'x-acs-version': '2014-05-26',
        },
      },
      ACS3_CREDENTIALS,
    );
    assert.notEqual(listed, ACS3_AUTHORIZATION);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// OSS V4 (OSS4-HMAC-SHA256) in the Authorization header
//
// "Include a V4 signature in the Authorization header (recommended)" / "在Header中包含V4签名(推荐)", section
// "Signature calculation example" (PutObject):
//   https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4
//     (Last Updated Feb 14, 2026)
//   https://help.aliyun.com/zh/oss/developer-reference/recommend-to-use-signature-version-4
//     (the stored copy shows no date; the zh-Hant copy at alibabacloud.com/help/tc/… says 更新時間 Feb 14, 2026)
//
// What can and cannot be checked against it:
// - The example signs two optional headers through AdditionalHeaders (content-disposition;content-length).
//   ossV4Authorization signs no additional headers, so it cannot produce the printed canonical request, nor
//   therefore the printed signature. What it must produce for the same request is the printed canonical request
//   without those two header lines and with an empty AdditionalHeaders line (the doc: optional headers are signed
//   only "if listed in AdditionalHeaders"); that is checked below.
// - The example is not reproducible end to end: its SigningKey (3543b768…) is not the key the doc's own formula
//   derives from the AccessKeySecret it lists ("yourAccessKeySecret"), so its Signature (053edbf5…) cannot be
//   reproduced from its inputs. The doc hedges ("different parameter combinations produce different values"); the
//   values were evidently computed with another secret. Its canonical request → string to sign step and its
//   SigningKey + string to sign → Signature step are each consistent, and both are checked.
// - Hence the key derivation (DateKey … SigningKey) is checked against the doc's formula, not against a published
//   value: the doc publishes none that matches its inputs. (signing.test.ts checks it against ali-oss.)
// ---------------------------------------------------------------------------------------------------------------

const OSS_SECRET = 'yourAccessKeySecret';
const OSS_CREDENTIALS = { accessKeyId: 'LTAI****************', accessKeySecret: OSS_SECRET };
const OSS_TIMESTAMP = '20250411T064124Z';
const OSS_REGION = 'cn-hangzhou';
/** The request of the example: its headers as its canonical request lists them. */
const OSS_HEADERS = {
  'content-disposition': 'attachment',
  'content-length': '3',
  'content-md5': 'ICy5YqxZB1uWSwcVLSNLcA==',
  'content-type': 'text/plain',
  'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
  'x-oss-date': OSS_TIMESTAMP,
};
/** "Step 1: Canonical request", as printed. */
const OSS_CANONICAL_REQUEST = [
  'PUT',
  '/examplebucket/exampleobject',
  '',
  'content-disposition:attachment',
  'content-length:3',
  'content-md5:ICy5YqxZB1uWSwcVLSNLcA==',
  'content-type:text/plain',
  'x-oss-content-sha256:UNSIGNED-PAYLOAD',
  'x-oss-date:20250411T064124Z',
  '',
  'content-disposition;content-length',
  'UNSIGNED-PAYLOAD',
].join('\n');
/** "Step 2: String-to-sign". */
const OSS_STRING_TO_SIGN = [
  'OSS4-HMAC-SHA256',
  '20250411T064124Z',
  '20250411/cn-hangzhou/oss/aliyun_v4_request',
  'c46d96390bdbc2d739ac9363293ae9d710b14e48081fcb22cd8ad54b63136eca',
].join('\n');
/** "Step 3: Signature": the SigningKey (hex) and the Signature. */
const OSS_SIGNING_KEY = '3543b7686e65eda71e5e5ca19d548d78423c37e8ddba4dc9d83f90228b457c76';
const OSS_SIGNATURE = '053edbf550ebd239b32a9cdfd93b0b2b3f2d223083aa61f75e9ac16856d61f23';

/** The doc's "Step 2" formula: "OSS4-HMAC-SHA256" \n TimeStamp \n Scope \n HEX(SHA256Hash(CanonicalRequest)). */
function ossStringToSign(timestamp: string, region: string, canonicalRequest: string): string {
  return ['OSS4-HMAC-SHA256', timestamp, `${timestamp.slice(0, 8)}/${region}/oss/aliyun_v4_request`, sha256Hex(canonicalRequest)].join('\n');
}

/** The doc's "Step 3a": DateKey = HMAC("aliyun_v4" + SK, Date), then region, "oss", "aliyun_v4_request". */
function ossSigningKey(secret: string, date: string, region: string): Buffer {
  const dateKey = hmac(`aliyun_v4${secret}`, date);
  const dateRegionKey = hmac(dateKey, region);
  const dateRegionServiceKey = hmac(dateRegionKey, 'oss');
  return hmac(dateRegionServiceKey, 'aliyun_v4_request');
}

/** The Authorization the doc's steps give for a canonical request signed without AdditionalHeaders. */
function ossExpectedAuthorization(canonicalRequest: string, timestamp = OSS_TIMESTAMP): string {
  const signature = hmac(ossSigningKey(OSS_SECRET, timestamp.slice(0, 8), OSS_REGION), ossStringToSign(timestamp, OSS_REGION, canonicalRequest)).toString('hex');
  return `OSS4-HMAC-SHA256 Credential=${OSS_CREDENTIALS.accessKeyId}/${timestamp.slice(0, 8)}/${OSS_REGION}/oss/aliyun_v4_request,Signature=${signature}`;
}

describe('OSS V4 header signature: the documentation\'s "Signature calculation example" (PutObject)', () => {
  // Doc: https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4
  // (Last Updated Feb 14, 2026). Steps 1 → 2 and (SigningKey, step 2) → Signature, with the doc's own values.
  it('the example\'s steps agree with each other: canonical request → string to sign, and SigningKey + string to sign → signature', () => {
    assert.equal(ossStringToSign(OSS_TIMESTAMP, OSS_REGION, OSS_CANONICAL_REQUEST), OSS_STRING_TO_SIGN);
    assert.equal(hmac(Buffer.from(OSS_SIGNING_KEY, 'hex'), OSS_STRING_TO_SIGN).toString('hex'), OSS_SIGNATURE);
  });

  // Doc: https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4
  // (Last Updated Feb 14, 2026). A flaw in the doc, pinned so it is not mistaken for ours: the SigningKey it prints
  // is not derived from the AccessKeySecret it lists, by its own step 3a.
  it('the example\'s SigningKey does not come from its listed AccessKeySecret (doc inconsistency)', () => {
    const derived = ossSigningKey(OSS_SECRET, '20250411', OSS_REGION);
    assert.notEqual(derived.toString('hex'), OSS_SIGNING_KEY);
    // Computed here by the doc's formulas, not printed by the doc: the key and signature its listed inputs give.
    assert.equal(derived.toString('hex'), '8a01ff4efcc65ca2cbc75375045c61ab5f3fa8b9a2d84f0add27ef16a25feb3c');
    assert.equal(hmac(derived, OSS_STRING_TO_SIGN).toString('hex'), 'd3694c2dfc5371ee6acd35e88c4871ac95a7ba01d3a2f476768fe61218590097');
  });

  // Doc: https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4
  // (Last Updated Feb 14, 2026): x-oss-date in ISO 8601 basic form, the example's Timestamp.
  it('ossDatetime gives the example\'s timestamp', () => {
    assert.equal(ossDatetime(new Date(Date.UTC(2025, 3, 11, 6, 41, 24, 999))), OSS_TIMESTAMP);
  });

  // Doc: https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4
  // (Last Updated Feb 14, 2026). Our signer cannot sign AdditionalHeaders; on the example's request it signs the
  // example's canonical request less the two optional header lines, with an empty AdditionalHeaders line, and
  // Authorization carries no AdditionalHeaders field.
  it('ossV4Authorization, on the example\'s request, signs the example\'s canonical request without its AdditionalHeaders', () => {
    const withoutAdditional = OSS_CANONICAL_REQUEST.replace('content-disposition:attachment\ncontent-length:3\n', '').replace(
      '\ncontent-disposition;content-length\n',
      '\n\n',
    );
    assert.equal(
      withoutAdditional,
      'PUT\n/examplebucket/exampleobject\n\ncontent-md5:ICy5YqxZB1uWSwcVLSNLcA==\ncontent-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20250411T064124Z\n\n\nUNSIGNED-PAYLOAD',
    );
    const ours = ossV4Authorization({ method: 'PUT', region: OSS_REGION, bucket: 'examplebucket', key: 'exampleobject', query: {}, headers: OSS_HEADERS }, OSS_CREDENTIALS);
    assert.equal(ours, ossExpectedAuthorization(withoutAdditional));
    // And not the example's canonical request with its AdditionalHeaders (which it cannot express).
    assert.notEqual(ours, ossExpectedAuthorization(OSS_CANONICAL_REQUEST));
  });

  // Doc: https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4
  // (Last Updated Feb 14, 2026): the CanonicalURI table (bucket → URI-encode("/examplebucket/")) and the
  // CanonicalQueryString table (prefix=somePrefix&marker=someMarker&max-keys=20 → marker, max-keys, prefix; ?acl, a
  // name without a value → URI-encode("acl")). Only the rules are printed there, not signatures.
  it('ossV4Authorization builds the canonical URI and query string of the doc\'s tables', () => {
    const headers = { 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD', 'x-oss-date': OSS_TIMESTAMP };
    const listing = ossV4Authorization(
      { method: 'GET', region: OSS_REGION, bucket: 'examplebucket', key: '', query: { prefix: 'somePrefix', marker: 'someMarker', 'max-keys': '20' }, headers },
      OSS_CREDENTIALS,
    );
    assert.equal(
      listing,
      ossExpectedAuthorization('GET\n/examplebucket/\nmarker=someMarker&max-keys=20&prefix=somePrefix\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20250411T064124Z\n\n\nUNSIGNED-PAYLOAD'),
    );
    const acl = ossV4Authorization({ method: 'GET', region: OSS_REGION, bucket: 'examplebucket', key: '', query: { acl: '' }, headers }, OSS_CREDENTIALS);
    assert.equal(acl, ossExpectedAuthorization('GET\n/examplebucket/\nacl\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20250411T064124Z\n\n\nUNSIGNED-PAYLOAD'));
    assert.notEqual(acl, ossExpectedAuthorization('GET\n/examplebucket/\nacl=\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20250411T064124Z\n\n\nUNSIGNED-PAYLOAD'));
  });
});
