import OpenApi, { $OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import { keyPair, type CloudCredentials } from '../shared/clients/credentials';
import { OperationError, UsageError } from './errors';

/** Whose key the command line acts with, and the account it belongs to when the key's source says so. */
export interface CallerCredentials {
  credentials: CloudCredentials;
  /** Known from the source (an access alias' AccountID, env ALIBABA_CLOUD_ACCOUNT_ID), else asked of STS when needed. */
  accountId?: string;
  /** Where the key came from, for error messages. */
  source: string;
}

/**
 * A key configured with Serverless Devs (`s config add --access <alias>`), read with the library `s` itself uses
 * (@serverless-devs/credential, a dependency of @serverless-devs/parse-spec): `~/.s/access.yaml` (or the workspace
 * that `~/.s/config/s.json` names), one entry per alias with AES-encrypted `AccessKeyID`, `AccessKeySecret`,
 * `AccountID` and optional `SecurityToken`. Like `s`, env `AccountID` + `AccessKeyID` + `AccessKeySecret`, when
 * all three are set, win over the file.
 */
export async function accessAliasCredentials(alias: string): Promise<CallerCredentials> {
  const { default: Credential } = await import('@serverless-devs/credential');
  // Its default logger is the console: debug lines would land on stdout, in the middle of --json output.
  const quiet = () => undefined;
  const store = new Credential({ logger: { debug: quiet, info: quiet, warn: quiet, error: quiet, log: quiet } });
  let found: { access: string; credential: Record<string, string | undefined> };
  try {
    found = (await store.get(alias)) as typeof found;
  } catch {
    throw new UsageError(`no Serverless Devs key named "${alias}" (~/.s/access.yaml): add it with s config add --access ${alias}, or list them with s config get -l`);
  }
  const { AccessKeyID, AccessKeySecret, SecurityToken, AccountID } = found.credential;
  if (!AccessKeyID || !AccessKeySecret) {
    throw new UsageError(`the Serverless Devs key "${alias}" has no AccessKeyID/AccessKeySecret (an Alibaba Cloud key is needed): add one with s config add --access ${alias} -f`);
  }
  return {
    credentials: { accessKeyId: AccessKeyID, accessKeySecret: AccessKeySecret, ...(SecurityToken ? { securityToken: SecurityToken } : {}) },
    ...(AccountID ? { accountId: String(AccountID) } : {}),
    source: `Serverless Devs key "${found.access}"`,
  };
}

/** The @alicloud/credentials default chain: env ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, ~/.alibabacloud/credentials, ECS/OIDC roles. */
export async function defaultChainCredentials(env: NodeJS.ProcessEnv = process.env): Promise<CallerCredentials> {
  let credentials: CloudCredentials;
  try {
    credentials = await defaultChain();
  } catch (error) {
    throw new UsageError(
      `no Alibaba Cloud credentials (${(error as Error).message}): set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, pass --access <Serverless Devs alias>, or use --local`,
    );
  }
  const accountId = env['ALIBABA_CLOUD_ACCOUNT_ID'];
  return { credentials, ...(accountId ? { accountId } : {}), source: 'the @alicloud/credentials default chain' };
}

/** Env ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET/SECURITY_TOKEN, the credentials file, then ECS/OIDC roles (@alicloud/credentials). */
export async function defaultChain(): Promise<CloudCredentials> {
  const { default: Credential } = await import('@alicloud/credentials');
  const credential = await new Credential().getCredential();
  if (!credential.accessKeyId || !credential.accessKeySecret) throw new Error('no Alibaba Cloud credentials found (environment or default chain)');
  return keyPair(credential.accessKeyId, credential.accessKeySecret, credential.securityToken);
}

/** STS 2015-04-01 GetCallerIdentity through openapi-core's generic call: one action does not need @alicloud/sts20150401. */
const GET_CALLER_IDENTITY = new $OpenApiUtil.Params({
  action: 'GetCallerIdentity',
  version: '2015-04-01',
  protocol: 'HTTPS',
  pathname: '/',
  method: 'POST',
  authType: 'AK',
  style: 'RPC',
  reqBodyType: 'formData',
  bodyType: 'json',
});

/** The account the key belongs to (STS GetCallerIdentity through openapi-core): FC 3.0's endpoint is per account. */
export async function callerAccountId(caller: CallerCredentials): Promise<string> {
  if (caller.accountId) return caller.accountId;
  const client = new OpenApi(
    new $OpenApiUtil.Config({
      accessKeyId: caller.credentials.accessKeyId,
      accessKeySecret: caller.credentials.accessKeySecret,
      ...(caller.credentials.securityToken ? { securityToken: caller.credentials.securityToken } : {}),
      endpoint: 'sts.aliyuncs.com',
    }),
  );
  try {
    const response = await client.callApi(GET_CALLER_IDENTITY, new $OpenApiUtil.OpenApiRequest({}), new RuntimeOptions({}));
    const accountId = (response.body as { AccountId?: string } | undefined)?.AccountId;
    if (!accountId) throw new Error('the answer has no AccountId');
    return accountId;
  } catch (error) {
    throw new OperationError(
      `cannot learn the account id of ${caller.source} (STS GetCallerIdentity: ${(error as Error).message}): set ALIBABA_CLOUD_ACCOUNT_ID, or use an --access alias with an AccountID`,
    );
  }
}
