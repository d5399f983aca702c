/** Structured one-line JSON logs. Values under secret-looking keys and signatures inside URLs are never printed. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const SECRET_KEY = /secret|token|password|signature|authorization|credential|accesskey/i;
const SIGNED_URL_PARAM = /([?&](?:Signature|OSSAccessKeyId|x-oss-signature|x-oss-credential|security-token|x-oss-security-token)=)[^&\s"]*/gi;

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(SIGNED_URL_PARAM, '$1[redacted]');
  if (value instanceof Error) return { name: value.name, message: redact(value.message), ...(redact({ ...value }, depth + 1) as object) };
  if (value === null || typeof value !== 'object') return value;
  // Past this depth nothing is walked, so nothing is printed (unwalked keys could be secrets; cycles end here too).
  if (depth > 6) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export function createLogger(base: LogFields = {}, write: (line: string) => void = (line) => console.log(line)): Logger {
  const emit = (level: string, message: string, fields?: LogFields) =>
    write(JSON.stringify({ ...(redact({ ...base, ...fields }) as object), level, message: redact(message) }));
  return {
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger({ ...base, ...fields }, write),
  };
}
