import * as z from '../platform/zod';

/** What `video-animation retry` sends the submit function: re-run this failed job (FC InvokeFunction, async). */
export const RetryRequestSchema = z.object({
  retry: z.object({
    bucket: z.string().check(z.minLength(3), z.maxLength(63)),
    jobId: z.string().check(z.regex(/^[0-9a-f]{32}$/, 'must be a job id (32 hex digits)')),
    /** Names this request, so its redeliveries make one re-run (the command line sends a new one per retry). */
    requestId: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, "_" or "-"'))),
  }),
});
export type RetryRequest = z.infer<typeof RetryRequestSchema>;
