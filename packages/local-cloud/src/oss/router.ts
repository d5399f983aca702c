import type { IncomingHttpHeaders } from 'node:http';
import type { Operation } from './context';
import { ossErrors } from './errors';
import { listObjects, listObjectsV2 } from './listing';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  initiateMultipartUpload,
  listParts,
  uploadPart,
} from './multipart';
import {
  asyncProcess,
  copyObject,
  deleteObject,
  deleteObjectTagging,
  getObject,
  getObjectTagging,
  headObject,
  putObject,
  putObjectTagging,
} from './objects';
import { V1_SUBRESOURCES } from './signature';
import { getBucketLocation, getBucketVersioning, putBucketVersioning } from './versioning';
import { deleteMultipleObjects } from './delete-multiple';

/** Sub-resources that qualify a request without selecting a different operation. */
const PASSIVE_SUBRESOURCES = new Set(['security-token', 'x-oss-traffic-limit', 'x-oss-request-payer']);

/** Operations by method, then by the request's sorted sub-resources joined with '&' ('' for none). */
type OperationTable = Record<string, Record<string, Operation>>;

const BUCKET_OPERATIONS: OperationTable = {
  // listV2 signs its continuation token as a sub-resource; list-type=2 is a plain parameter.
  GET: { '': listObjects, 'continuation-token': listObjects, versioning: getBucketVersioning, location: getBucketLocation },
  PUT: { versioning: putBucketVersioning },
  POST: { delete: deleteMultipleObjects },
};

const OBJECT_OPERATIONS: OperationTable = {
  GET: { '': getObject, tagging: getObjectTagging, uploadId: listParts },
  HEAD: { '': headObject, objectMeta: headObject },
  PUT: { '': putObject, tagging: putObjectTagging, 'partNumber&uploadId': uploadPart },
  POST: { uploads: initiateMultipartUpload, uploadId: completeMultipartUpload, 'x-oss-async-process': asyncProcess },
  DELETE: { '': deleteObject, tagging: deleteObjectTagging, uploadId: abortMultipartUpload },
};

/** Picks the operation from method, key and sub-resources, the way OSS does; 501 for the rest. */
export function selectOperation(
  method: string,
  key: string,
  query: ReadonlyMap<string, string>,
  headers: IncomingHttpHeaders,
): Operation {
  if (!(method in OBJECT_OPERATIONS)) throw ossErrors.methodNotAllowed(method);
  const subresources = [...query.keys()]
    .filter((name) => V1_SUBRESOURCES.has(name) && !PASSIVE_SUBRESOURCES.has(name) && !name.startsWith('response-'))
    .sort()
    .join('&');
  let operation = (key === '' ? BUCKET_OPERATIONS : OBJECT_OPERATIONS)[method]?.[subresources];
  if (operation === listObjects && query.get('list-type') === '2') operation = listObjectsV2;
  if (method === 'PUT' && headers['x-oss-copy-source'] !== undefined) {
    // A copy source turns PutObject into CopyObject, and UploadPart into the unsupported UploadPartCopy.
    operation = operation === putObject ? copyObject : undefined;
  }
  if (!operation) {
    const described = subresources === '' ? '' : `?${subresources}`;
    throw ossErrors.notImplemented(`${method} ${key === '' ? 'bucket' : 'object'}${described}`);
  }
  return operation;
}
