import { posix } from 'node:path';

export interface OssLocation {
  bucket: string;
  key: string;
}

// OSS bucket names: 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen.
const OSS_URI = /^oss:\/\/([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\/(.+)$/s;

/** Parses `oss://bucket/key`; undefined when the text is not one. */
export function parseOssUri(uri: string): OssLocation | undefined {
  const match = OSS_URI.exec(uri);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

export function formatOssUri({ bucket, key }: OssLocation): string {
  return `oss://${bucket}/${key}`;
}

/**
 * The template variables IMM expands in output URIs, from the source object `oss://bucket/dir/name.mp4`:
 * `{autoext}` the output format's extension (`gif`), `{bucket}` `bucket`, `{key}` `dir/name.mp4`, `{dirname}`
 * `dir`, `{basename}` `name.mp4`, `{barename}` `name`, `{ext}` `mp4`. `{{` and `}}` are literal braces.
 */
export function expandUriTemplate(template: string, source: OssLocation, autoext: string): string {
  const extension = posix.extname(source.key);
  const basename = posix.basename(source.key);
  const dirname = posix.dirname(source.key);
  const variables: Record<string, string> = {
    autoext,
    bucket: source.bucket,
    key: source.key,
    dirname: dirname === '.' ? '' : dirname,
    basename,
    barename: basename.slice(0, basename.length - extension.length),
    ext: extension.slice(1),
  };
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (token, name: string | undefined) => {
    if (token === '{{') return '{';
    if (token === '}}') return '}';
    const value = name === undefined ? undefined : variables[name];
    if (value === undefined) throw new UnknownTemplateVariableError(token);
    return value;
  });
}

export class UnknownTemplateVariableError extends Error {
  constructor(readonly variable: string) {
    super(`unknown template variable ${variable}; supported: {autoext} {bucket} {key} {dirname} {basename} {barename} {ext}, {{ and }} for braces`);
    this.name = 'UnknownTemplateVariableError';
  }
}
