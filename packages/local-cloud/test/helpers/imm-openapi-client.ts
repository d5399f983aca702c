import OpenApi, { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';

/**
 * Calls IMM the way the generated SDK (@alicloud/imm20200930) does: RPC style, POST /, parameters in the query
 * string with structures as JSON strings, through the official @alicloud/openapi-core transport.
 */
export const immParams = (action: string) =>
  new $OpenApiUtil.Params({
    action,
    version: '2020-09-30',
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });

export interface ImmCaller {
  (action: string, parameters: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export function immCaller(options: { endpoint: string; regionId: string; accessKeyId: string; accessKeySecret: string; securityToken?: string }): ImmCaller {
  const client = new OpenApi(new $OpenApiUtil.Config({ ...options, protocol: 'http' }));
  return async (action, parameters) => {
    // Structures travel as JSON strings, as the SDK's *ShrinkRequest models send them.
    const query = Object.fromEntries(
      Object.entries(parameters).map(([name, value]) => [name, typeof value === 'object' && value !== null ? JSON.stringify(value) : value]),
    );
    const response = await client.callApi(immParams(action), new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(query) }), new RuntimeOptions({}));
    return response.body as Record<string, unknown>;
  };
}
