import { ConfigError } from '../platform/errors';

/** An AccessKey pair, with the STS token when it is temporary (FC passes the function role's STS credentials). */
export interface CloudCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/**
 * The credentials of one invocation: the function role's STS credentials FC hands the invocation in its context,
 * or else the standard variables ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN. The functions need no
 * more of the default credentials chain (config files, ECS metadata, OIDC), and leaving its library out of the
 * bundle is a large part of their cold start; the command line uses the full chain (cli/credentials.ts).
 */
export function invocationCredentials(fromContext: Partial<CloudCredentials> | undefined, env: NodeJS.ProcessEnv = process.env): CloudCredentials {
  if (fromContext?.accessKeyId && fromContext.accessKeySecret) return keyPair(fromContext.accessKeyId, fromContext.accessKeySecret, fromContext.securityToken);
  const accessKeyId = env['ALIBABA_CLOUD_ACCESS_KEY_ID'];
  const accessKeySecret = env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'];
  if (accessKeyId && accessKeySecret) return keyPair(accessKeyId, accessKeySecret, env['ALIBABA_CLOUD_SECURITY_TOKEN']);
  throw new ConfigError(
    'no Alibaba Cloud credentials: the invocation context has none and ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET are not set; give the function a role (s.yaml props.role)',
  );
}

export function keyPair(accessKeyId: string, accessKeySecret: string, securityToken: string | undefined): CloudCredentials {
  return { accessKeyId, accessKeySecret, ...(securityToken ? { securityToken } : {}) };
}
