import { recordTaskNotice } from '../../shared/complete';
import { loadConfig, type FcContext } from '../../shared/config';
import { TransientFailure } from '../../shared/errors';
import { decodeTaskNotice } from '../../shared/events/decode';
import { createLogger } from '../../shared/log';
import { invocationRuntime } from '../../shared/runtime';

/** MNS topic trigger: IMM's completion notice -> job record updated, outputs tagged. Bad notices are acknowledged. */
export const handler = async (event: Buffer | string, context: FcContext = {}) => {
  const log = createLogger({ fn: 'record', requestId: context.requestId });
  const decoded = decodeTaskNotice(event);
  if (!decoded.ok) {
    log.error('malformed notice acknowledged without retry', { reason: decoded.reason, bytes: decoded.bytes });
    return { acknowledged: true, reason: decoded.reason };
  }
  const config = loadConfig(context);
  try {
    const outcome = await recordTaskNotice(decoded.value, invocationRuntime(config, context, log));
    if (outcome.status !== 'recorded') log.info(`notice ${outcome.status}`, { ...outcome });
    return outcome;
  } catch (error) {
    if (error instanceof TransientFailure) log.warn('transient failure; the notice will be redelivered', { reason: error.message });
    else log.error('record failed', { error });
    throw error;
  }
};
