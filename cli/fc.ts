import FC, { GetFunctionRequest, InvokeFunctionHeaders, InvokeFunctionRequest, ListTriggersRequest } from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import { Readable } from 'node:stream';
import type { CloudCredentials } from '../shared/clients/credentials';
import type { EndpointOverride } from '../shared/clients/endpoint';
import { OperationError } from './errors';

/** Hands an event to a deployed function: FC 3.0 InvokeFunction, asynchronous, so FC's retries and onFailure apply. */
export interface FunctionInvoker {
  /** Resolves with FC's request id once FC accepted the event (202); rejects with an OperationError otherwise. */
  invokeAsync(functionName: string, event: unknown): Promise<string>;
}

/**
 * The official @alicloud/fc20230330 client. In the cloud the endpoint is `<accountId>.<region>.fc.aliyuncs.com`
 * (FC 3.0 endpoints are per account: https://www.alibabacloud.com/help/en/functioncompute/endpoints); the local
 * stack serves the same API on loopback.
 */
export function fcInvoker(options: FcClientOptions): FunctionInvoker {
  const client = fcClient(options);
  return {
    async invokeAsync(functionName, event) {
      try {
        const response = await client.invokeFunctionWithOptions(
          functionName,
          new InvokeFunctionRequest({ body: Readable.from([Buffer.from(JSON.stringify(event))]) }),
          new InvokeFunctionHeaders({ xFcInvocationType: 'Async' }),
          new RuntimeOptions({}),
        );
        // The answer has no body worth reading; drain it so the connection is free.
        response.body?.resume();
        if (response.statusCode !== 202) throw new Error(`FC answered HTTP ${response.statusCode} instead of 202 Accepted`);
        return response.headers?.['x-fc-request-id'] ?? '';
      } catch (error) {
        throw new OperationError(`InvokeFunction ${functionName}: ${describeFcError(error, options.unreachableHint)}`);
      }
    },
  };
}

interface FcClientOptions {
  endpoint: EndpointOverride;
  region: string;
  credentials: CloudCredentials;
  unreachableHint: string;
}

/** A deployed function as FC 3.0 GetFunction reports it (the fields doctor compares with s.yaml). */
export interface DeployedFunction {
  runtime?: string;
  handler?: string;
  timeout?: number;
  memorySize?: number;
  environmentVariables: Record<string, string>;
  /** Where FC writes the function's logs (GetFunction `logConfig`); undefined when FC reports none. */
  logConfig?: { project?: string; logstore?: string };
}

/** A trigger as FC 3.0 ListTriggers reports it; `triggerConfig` is the JSON string FC keeps. */
export interface DeployedTrigger {
  triggerName: string;
  triggerType: string;
  sourceArn?: string;
  triggerConfig?: string;
}

/** Read-only FC 3.0 calls: GetFunction and ListTriggers (API 2023-03-30). */
export interface FunctionReader {
  /** undefined when FC answers 404 FunctionNotFound. */
  getFunction(functionName: string): Promise<DeployedFunction | undefined>;
  listTriggers(functionName: string): Promise<DeployedTrigger[]>;
}

export function fcReader(options: FcClientOptions): FunctionReader {
  const client = fcClient(options);
  return {
    async getFunction(functionName) {
      try {
        const body = (await client.getFunctionWithOptions(functionName, new GetFunctionRequest({}), {}, new RuntimeOptions({}))).body;
        return {
          ...(body?.runtime !== undefined ? { runtime: body.runtime } : {}),
          ...(body?.handler !== undefined ? { handler: body.handler } : {}),
          ...(body?.timeout !== undefined ? { timeout: body.timeout } : {}),
          ...(body?.memorySize !== undefined ? { memorySize: body.memorySize } : {}),
          environmentVariables: { ...(body?.environmentVariables ?? {}) },
          ...(body?.logConfig ? { logConfig: { ...(body.logConfig.project ? { project: body.logConfig.project } : {}), ...(body.logConfig.logstore ? { logstore: body.logConfig.logstore } : {}) } } : {}),
        };
      } catch (error) {
        if ((error as { code?: string }).code === 'FunctionNotFound') return undefined;
        throw new OperationError(`GetFunction ${functionName}: ${describeFcError(error, options.unreachableHint)}`);
      }
    },
    async listTriggers(functionName) {
      const triggers: DeployedTrigger[] = [];
      let nextToken: string | undefined;
      try {
        do {
          const body = (
            await client.listTriggersWithOptions(functionName, new ListTriggersRequest({ limit: 100, ...(nextToken ? { nextToken } : {}) }), {}, new RuntimeOptions({}))
          ).body;
          for (const t of body?.triggers ?? []) {
            triggers.push({
              triggerName: t.triggerName ?? '',
              triggerType: t.triggerType ?? '',
              ...(t.sourceArn ? { sourceArn: t.sourceArn } : {}),
              ...(t.triggerConfig ? { triggerConfig: t.triggerConfig } : {}),
            });
          }
          nextToken = body?.nextToken || undefined;
        } while (nextToken);
      } catch (error) {
        throw new OperationError(`ListTriggers ${functionName}: ${describeFcError(error, options.unreachableHint)}`);
      }
      return triggers;
    },
  };
}

function fcClient(options: FcClientOptions): FC {
  return new FC(
    new $OpenApiUtil.Config({
      accessKeyId: options.credentials.accessKeyId,
      accessKeySecret: options.credentials.accessKeySecret,
      ...(options.credentials.securityToken ? { securityToken: options.credentials.securityToken } : {}),
      endpoint: options.endpoint.host,
      protocol: options.endpoint.protocol,
      regionId: options.region,
      readTimeout: 30_000,
      connectTimeout: 10_000,
    }),
  );
}

function describeFcError(error: unknown, unreachableHint: string): string {
  const e = error as { code?: string; data?: { Message?: string; message?: string }; message?: string };
  if (e.code === 'ECONNREFUSED' || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(e.message ?? '')) return `${e.message ?? e.code}: ${unreachableHint}`;
  const message = e.data?.Message ?? e.data?.message;
  if (e.code && message) return `${e.code}: ${message}`;
  return e.message ?? String(error);
}
