import type { AppDeps } from '../app/context';
import type { Decoded } from '../events/decode';
import { loadConfig, type FcContext } from './config';
import { AppError } from '../platform/errors';
import { createLogger } from '../platform/log';
import { invocationRuntime } from './runtime';

/**
 * The one error policy of every function (see platform/errors.ts for the kinds): input that does not decode, or that the use
 * case finds bad, is logged and acknowledged (a retry would fail the same way); a transient failure is thrown so FC
 * or MNS delivers again; anything else is logged and thrown so FC's retries end in the onFailure destination and
 * nothing is lost.
 */
export function fcHandler<T, R>(options: {
  name: string;
  /** What the payload is, for log lines: "OSS event", "notice". */
  payload: string;
  decode: (event: Buffer | string) => Decoded<T>;
  run: (value: T, runtime: AppDeps) => Promise<R>;
}) {
  return async (event: Buffer | string, context: FcContext = {}): Promise<R | { acknowledged: true; reason: string }> => {
    const log = createLogger({ fn: options.name, requestId: context.requestId });
    const decoded = options.decode(event);
    if (!decoded.ok) {
      log.error(`malformed ${options.payload} acknowledged without retry`, { reason: decoded.reason, bytes: decoded.bytes });
      return { acknowledged: true, reason: decoded.reason };
    }
    const config = loadConfig(context);
    try {
      return await options.run(decoded.value, invocationRuntime(config, context, log));
    } catch (error) {
      const kind = error instanceof AppError ? error.kind : undefined;
      if (kind === 'bad-input') {
        log.error(`bad ${options.payload} acknowledged without retry`, { reason: (error as Error).message });
        return { acknowledged: true, reason: (error as Error).message };
      }
      if (kind === 'transient') log.warn(`transient failure; the ${options.payload} will be delivered again`, { reason: (error as Error).message });
      else log.error(`${options.name} failed`, { error });
      throw error;
    }
  };
}
