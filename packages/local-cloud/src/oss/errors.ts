import { xmlDocument } from './xml';

/**
 * An OSS error response. `details` become extra elements after HostId, as OSS adds
 * e.g. <Key>, <BucketName> or <StringToSign> there.
 */
export class OssError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'OssError';
  }

  toXml(requestId: string, hostId: string): string {
    return xmlDocument('Error', {
      Code: this.code,
      Message: this.message,
      RequestId: requestId,
      HostId: hostId,
      ...this.details,
    });
  }
}

// Messages are OSS's own wording so logs and client errors read as they would in the cloud.
export const ossErrors = {
  accessDenied: (message = 'You have no right to access this object because of bucket acl.') =>
    new OssError(403, 'AccessDenied', message),
  requestExpired: (expires: string, serverTime: string) =>
    new OssError(403, 'AccessDenied', 'Request has expired.', { Expires: expires, ServerTime: serverTime }),
  invalidAccessKeyId: (accessKeyId: string) =>
    new OssError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', {
      OSSAccessKeyId: accessKeyId,
    }),
  invalidSecurityToken: () => new OssError(403, 'InvalidSecurityToken', 'The security token you provided is invalid.'),
  signatureDoesNotMatch: (accessKeyId: string, details: Record<string, string>) =>
    new OssError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { OSSAccessKeyId: accessKeyId, ...details },
    ),
  requestTimeTooSkewed: (requestTime: string, serverTime: string) =>
    new OssError(
      403,
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      { RequestTime: requestTime, ServerTime: serverTime },
    ),
  invalidArgument: (message: string, name?: string, value?: string) =>
    new OssError(
      400,
      'InvalidArgument',
      message,
      name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' },
    ),
  noSuchBucket: (bucket: string) =>
    new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket }),
  noSuchKey: (key: string) => new OssError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key }),
  invalidObjectName: (ec: string) =>
    new OssError(400, 'InvalidObjectName', 'The specified object is not valid.', { EC: ec }),
  invalidUri: () => new OssError(400, 'InvalidURI', "Couldn't parse the specified URI."),
  fileAlreadyExists: () =>
    new OssError(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.'),
  invalidRange: () => new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied'),
  notModified: () => new OssError(304, 'NotModified', 'Not Modified'),
  preconditionFailed: (condition: string) =>
    new OssError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.', {
      Condition: condition,
    }),
  invalidDigest: () => new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.'),
  malformedXml: () =>
    new OssError(
      400,
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
    ),
  invalidTag: (message: string) => new OssError(400, 'InvalidTag', message),
  entityTooLarge: () =>
    new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.'),
  noSuchUpload: (uploadId: string) =>
    new OssError(
      404,
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    ),
  invalidPart: (partNumber: number) =>
    new OssError(
      400,
      'InvalidPart',
      "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
      { PartNumber: String(partNumber) },
    ),
  invalidPartOrder: () =>
    new OssError(
      400,
      'InvalidPartOrder',
      'The list of parts was not in ascending order. Parts must be ordered by part number.',
    ),
  entityTooSmall: (partNumber: number) =>
    new OssError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.', {
      PartNumber: String(partNumber),
    }),
  notImplemented: (operation: string) =>
    new OssError(501, 'NotImplemented', `The local OSS stand-in does not implement ${operation}.`),
  methodNotAllowed: (method: string) =>
    new OssError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', {
      Method: method,
    }),
  serviceUnavailable: () =>
    new OssError(503, 'ServiceUnavailable', 'Service is temporarily unavailable, please try again later.'),
  slowDown: () => new OssError(503, 'SlowDown', 'Please reduce your request rate.'),
  immNotAttached: () =>
    new OssError(
      400,
      'Imm Client',
      'ResourceNotFound.Attachment: no IMM project is attached to this bucket, so x-oss-async-process is unavailable.',
    ),
  internalError: () => new OssError(500, 'InternalError', 'We encountered an internal error. Please try again.'),
};
