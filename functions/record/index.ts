import { recordTaskNotice } from '../../shared/complete';
import { decodeTaskNotice } from '../../shared/events/decode';
import { fcHandler } from '../../shared/handler';

/** MNS topic trigger: IMM's completion notice -> job record updated, outputs tagged. */
export const handler = fcHandler({
  name: 'record',
  payload: 'notice',
  decode: decodeTaskNotice,
  run: async (notice, runtime) => {
    const outcome = await recordTaskNotice(notice, runtime);
    if (outcome.status !== 'recorded') runtime.log.info(`notice ${outcome.status}`, { ...outcome });
    return outcome;
  },
});
