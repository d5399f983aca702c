import * as z from '../platform/zod';

/** What `video-animation retry` sends the submit function: re-run this failed job (FC InvokeFunction, async). */
export const RetryRequestSchema = z.object({
  retry: z.object({ bucket: z.string().check(z.minLength(3), z.maxLength(63)), jobId: z.string().check(z.regex(/^[0-9a-f]{32}$/, 'must be a job id (32 hex digits)')) }),
});
export type RetryRequest = z.infer<typeof RetryRequestSchema>;
