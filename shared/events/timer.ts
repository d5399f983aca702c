import * as z from '../platform/zod';

/** The event FC passes a function on a timer trigger. */
export const TimerEventSchema = z.looseObject({
  triggerTime: z.string(),
  triggerName: z.string(),
  payload: z.optional(z.string()),
});
export type TimerEvent = z.infer<typeof TimerEventSchema>;
