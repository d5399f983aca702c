import { loadConfig, type FcContext } from '../../shared/config';
import { TransientFailure } from '../../shared/errors';
import { decodeOssTriggerEvent } from '../../shared/events/decode';
import { createLogger } from '../../shared/log';
import { invocationRuntime } from '../../shared/runtime';
import { submitUploads } from '../../shared/submit';

/** OSS trigger: one IMM task per (uploaded video, matching rule). Bad events are acknowledged; transient failures throw so FC retries. */
export const handler = async (event: Buffer | string, context: FcContext = {}) => {
  const log = createLogger({ fn: 'submit', requestId: context.requestId });
  const decoded = decodeOssTriggerEvent(event);
  if (!decoded.ok) {
    log.error('malformed OSS event acknowledged without retry', { reason: decoded.reason, bytes: decoded.bytes });
    return { acknowledged: true, reason: decoded.reason };
  }
  const config = loadConfig(context);
  try {
    const outcomes = await submitUploads(decoded.value, invocationRuntime(config, context, log));
    return { outcomes };
  } catch (error) {
    if (error instanceof TransientFailure) log.warn('transient failure; FC will retry the event', { reason: error.message });
    else log.error('submit failed', { error });
    throw error;
  }
};
