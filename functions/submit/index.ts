import { retryFailedJob } from '../../shared/app/retry';
import { submitUploads } from '../../shared/app/submit';
import { decodeSubmitPayload } from '../../shared/events/decode';
import { fcHandler } from '../../shared/wiring/handler';

/** OSS trigger (and backfill): one conversion job per (uploaded video, matching rule); or a retry of a failed job. */
export const handler = fcHandler({
  name: 'submit',
  payload: 'OSS event',
  decode: decodeSubmitPayload,
  run: async (payload, runtime) =>
    payload.kind === 'retry' ? { outcomes: [await retryFailedJob(payload.request, runtime)] } : { outcomes: await submitUploads(payload.event, runtime) },
});
