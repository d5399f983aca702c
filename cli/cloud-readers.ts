import { $OpenApiUtil } from '@alicloud/openapi-core';
import ROS, { GetStackRequest, ListStacksRequest } from '@alicloud/ros20190910';
import { RuntimeOptions } from '@darabonba/typescript';
import type { CloudCredentials } from '../shared/clients/credentials';
import { IMM_API_VERSION } from '../shared/clients/imm';
import { ServiceResponseError } from '../shared/clients/http';
import { createRpcClient } from '../shared/clients/openapi-rpc';
import { OperationError } from './errors';

/** A ROS stack as GetStack reports it (the fields doctor reads). */
export interface StackState {
  stackId: string;
  status: string;
  statusReason?: string;
  /** OutputKey -> OutputValue. */
  outputs: Record<string, string>;
}

/** Read-only ROS 2019-09-10 calls: ListStacks (by `StackName.1`) then GetStack (StackId). */
export interface StackReader {
  /** undefined when the region has no stack of that name. */
  findStack(name: string, region: string): Promise<StackState | undefined>;
}

/** Whether a bucket is attached to an IMM project (IMM 2020-09-30 GetOSSBucketAttachment). */
export interface AttachmentReader {
  /** undefined when the bucket has no project; `project` undefined when attached to the stack's own (local stack). */
  attachment(bucket: string): Promise<{ project?: string } | undefined>;
}

function config(credentials: CloudCredentials, region: string): $OpenApiUtil.Config {
  return new $OpenApiUtil.Config({
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    ...(credentials.securityToken ? { securityToken: credentials.securityToken } : {}),
    regionId: region,
    readTimeout: 30_000,
    connectTimeout: 10_000,
  });
}

/** `Code: Message` of an openapi-core error (the message is in `data`) or of ours (it is the message). */
function describe(error: unknown): string {
  const e = error as { code?: string; data?: { Message?: string }; message?: string };
  if (e.code && e.data?.Message) return `${e.code}: ${e.data.Message}`;
  if (error instanceof ServiceResponseError) return `${error.code}: ${error.message}`;
  return e.message ?? String(error);
}

/** The official @alicloud/ros20190910 client (its endpoint map: ros.aliyuncs.com for the regions). */
export function rosStackReader(credentials: CloudCredentials): StackReader {
  const clients = new Map<string, ROS>();
  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (!client) clients.set(region, (client = new ROS(config(credentials, region))));
    return client;
  };
  return {
    async findStack(name, region) {
      const client = clientFor(region);
      let stackId: string | undefined;
      try {
        // ListStacks matches StackName.N exactly; deleted stacks are not listed unless asked for.
        const listed = await client.listStacksWithOptions(new ListStacksRequest({ regionId: region, stackName: [name], pageSize: 10 }), new RuntimeOptions({}));
        stackId = listed.body?.stacks?.find((s) => s.stackName === name)?.stackId;
      } catch (error) {
        throw new OperationError(`ROS ListStacks ${name} in ${region}: ${describe(error)}`);
      }
      if (!stackId) return undefined;
      try {
        const body = (await client.getStackWithOptions(new GetStackRequest({ regionId: region, stackId }), new RuntimeOptions({}))).body;
        const outputs: Record<string, string> = {};
        for (const output of body?.outputs ?? []) {
          const key = output['OutputKey'];
          if (typeof key === 'string') outputs[key] = typeof output['OutputValue'] === 'string' ? output['OutputValue'] : JSON.stringify(output['OutputValue']);
        }
        return { stackId, status: body?.status ?? 'UNKNOWN', ...(body?.statusReason ? { statusReason: body.statusReason } : {}), outputs };
      } catch (error) {
        throw new OperationError(`ROS GetStack ${name} (${stackId}): ${describe(error)}`);
      }
    },
  };
}

/**
 * IMM GetOSSBucketAttachment (RPC, `OSSBucket` -> `ProjectName`), over the functions' own OpenAPI RPC client. A
 * bucket with no project answers an error (a 404, or a code naming a missing resource): that reads as "not attached".
 */
export function immAttachmentReader(credentials: CloudCredentials, region: string): AttachmentReader {
  const call = createRpcClient({ service: 'imm', endpoint: { protocol: 'https', host: `imm.${region}.aliyuncs.com` }, version: IMM_API_VERSION, credentials });
  return {
    async attachment(bucket) {
      try {
        const project = (await call<{ ProjectName?: string }>('GetOSSBucketAttachment', { OSSBucket: bucket })).ProjectName;
        return project ? { project } : undefined;
      } catch (error) {
        const e = error as { code?: string; status?: number };
        if (e.status === 404 || /NotFound|NotExist|NotAttach|NotBind/i.test(e.code ?? '')) return undefined;
        throw new OperationError(`IMM GetOSSBucketAttachment ${bucket}: ${describe(error)}`);
      }
    },
  };
}
