/** An AccessKey pair, with the STS token when it is temporary (FC passes the function role's STS credentials). */
export interface CloudCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/**
 * The credentials FC hands the invocation when the function has a role; otherwise the @alicloud/credentials default
 * chain (env ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, config file, ECS/OIDC role). The library loads only on that path.
 */
export async function resolveCredentials(fromContext: Partial<CloudCredentials> | undefined): Promise<CloudCredentials> {
  if (fromContext?.accessKeyId && fromContext.accessKeySecret) {
    return {
      accessKeyId: fromContext.accessKeyId,
      accessKeySecret: fromContext.accessKeySecret,
      ...(fromContext.securityToken ? { securityToken: fromContext.securityToken } : {}),
    };
  }
  const { default: Credential } = await import('@alicloud/credentials');
  const credential = await new Credential().getCredential();
  if (!credential.accessKeyId || !credential.accessKeySecret) throw new Error('no Alibaba Cloud credentials found (context, environment or default chain)');
  return {
    accessKeyId: credential.accessKeyId,
    accessKeySecret: credential.accessKeySecret,
    ...(credential.securityToken ? { securityToken: credential.securityToken } : {}),
  };
}
