import { submitUploads } from '../../shared/app/submit';
import { decodeOssTriggerEvent } from '../../shared/events/decode';
import { fcHandler } from '../../shared/platform/handler';

/** OSS trigger: one conversion job per (uploaded video, matching rule). */
export const handler = fcHandler({
  name: 'submit',
  payload: 'OSS event',
  decode: decodeOssTriggerEvent,
  run: async (event, runtime) => ({ outcomes: await submitUploads(event, runtime) }),
});
