import { recordTaskNotice } from '../../shared/app/record';
import { decodeTaskNotice } from '../../shared/events/decode';
import { fcHandler } from '../../shared/wiring/handler';

/** MNS topic trigger: IMM's completion notice -> task result recorded, outputs tagged, job view refreshed. */
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
