import { reconcileOpenJobs } from '../../shared/app/reconcile';
import { decodeTimerEvent } from '../../shared/events/decode';
import { fcHandler } from '../../shared/wiring/handler';

/** Timer trigger: finishes the jobs that lost notices and abandoned events left open. */
export const handler = fcHandler({
  name: 'reconcile',
  payload: 'timer event',
  decode: decodeTimerEvent,
  run: (_timer, runtime) => reconcileOpenJobs(runtime),
});
