import type { BucketApi } from '../clients/oss';
import { ConfigError } from '../platform/errors';

/** Buckets checked fit for create-only records in this instance (the answer cannot change while it runs). */
const checked = new Map<string, Promise<void>>();

/**
 * Create-only writes (x-oss-forbid-overwrite) are what make every claim have one winner, and OSS ignores that header
 * on a bucket whose versioning is Enabled or Suspended: every claim would "win" and duplicate events would start
 * billed tasks twice. So the records bucket is checked once per instance (GET /?versioning), and a versioned one
 * stops the function with a ConfigError. A failed check is not remembered: the next invocation asks again.
 */
export function checkRecordsBucket(bucket: BucketApi): Promise<void> {
  let check = checked.get(bucket.bucket);
  if (!check) {
    check = bucket.versioning().then((status) => {
      if (status) {
        throw new ConfigError(
          `records bucket "${bucket.bucket}" has versioning ${status}: OSS ignores x-oss-forbid-overwrite there, so job claims ` +
            `would not be exclusive and a video could be billed twice. Set RECORDS_BUCKET (s.yaml vars.recordsBucket) to a bucket ` +
            `whose versioning was never enabled (vars.createRecordsBucket makes one); versioning cannot be turned off once enabled.`,
        );
      }
    });
    checked.set(bucket.bucket, check);
    check.catch(() => checked.delete(bucket.bucket));
  }
  return check;
}
