import * as z from '../platform/zod';

/** One record of the OSS trigger payload FC delivers (`{"events":[...]}`); unknown fields pass through. */
export const OssEventRecordSchema = z.looseObject({
  eventName: z.string().check(z.minLength(1)),
  eventSource: z.literal('acs:oss'),
  eventTime: z.string(),
  region: z.optional(z.string()),
  oss: z.looseObject({
    bucket: z.looseObject({ name: z.string().check(z.minLength(3), z.maxLength(63)) }),
    object: z.looseObject({
      key: z.string().check(z.minLength(1)),
      eTag: z.optional(z.string()),
      size: z.optional(z.int().check(z.minimum(0))),
    }),
  }),
});

export const OssTriggerEventSchema = z.looseObject({ events: z.array(OssEventRecordSchema).check(z.minLength(1)) });

export type OssEventRecord = z.infer<typeof OssEventRecordSchema>;
export type OssTriggerEvent = z.infer<typeof OssTriggerEventSchema>;

/**
 * The keys an OSS event key may stand for. Alibaba documents the key as raw, but peer systems on other clouds
 * URL-encode it (`+` for space, `%XX`); the raw form comes first and the decoded forms are only tried when it
 * does not exist. `+` is never blindly turned into a space: that form is tried last.
 */
export function candidateKeys(eventKey: string): string[] {
  const candidates = [eventKey];
  const decoded = tryDecode(eventKey);
  if (decoded !== undefined) candidates.push(decoded);
  const plusDecoded = tryDecode(eventKey.replace(/\+/g, ' '));
  if (plusDecoded !== undefined) candidates.push(plusDecoded);
  return [...new Set(candidates)];
}

function tryDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
