import type { BucketApi } from '../clients/oss';
import { describeServiceError } from '../platform/errors';
import { PartialSubmitError, type ConversionEngine, type Retrier, type StartedTask } from './engine';
import { ossProcessString } from './oss-process';

/** OSS's answer when the bucket has no IMM project attached: Code `Imm Client`, message `ResourceNotFound ... Attachment`. */
export function isImmNotAttached(error: unknown): boolean {
  const e = (error ?? {}) as { code?: unknown; message?: unknown };
  return e.code === 'Imm Client' && typeof e.message === 'string' && e.message.includes('ResourceNotFound') && e.message.includes('Attachment');
}

/**
 * The bucket has no IMM project attached, so OSS cannot run `x-oss-async-process`. Permanent: only the user can fix
 * it, so it carries a 4xx status (OSS's own), which describeServiceError and the retry policy never retry.
 */
export class ImmNotAttachedError extends Error {
  override name = 'ImmNotAttachedError';
  readonly status: number;
  readonly code: string;

  constructor(
    readonly bucket: string,
    cause: unknown,
  ) {
    const info = describeServiceError('oss', cause);
    super(
      `bucket "${bucket}" has no IMM project attached, so OSS cannot run x-oss-async-process for engine oss. ` +
        `Attach the bucket to an IMM project in the same region: in the OSS console under Data Processing > IMM, ` +
        `or with IMM AttachOSSBucket (OSSBucket=${bucket}, ProjectName=<your project>). OSS said: ${info.code}: ${info.message}`,
      { cause },
    );
    this.status = info.status !== undefined && info.status < 500 ? info.status : 400;
    this.code = info.code;
  }
}

/**
 * OSS asynchronous processing (`POST /<key>?x-oss-async-process`, `video/animation`): one call, hence one IMM task,
 * per output, since the API takes a single output. A processing string carries no tags, so this engine cannot find
 * its tasks again (no findJobTasks): see the README on the remaining risk of a second task after a crash.
 */
export function ossAsyncEngine(bucket: BucketApi, settings: { topicName: string }, retry: Retrier): ConversionEngine {
  return {
    async submit(plan) {
      // Built before the first POST so an output OSS cannot express fails the job before any task starts.
      const processes = plan.outputs.map((output) => ({ key: output.resolvedKey, process: ossProcessString(plan, output, settings) }));
      const started: StartedTask[] = [];
      for (const { key, process } of processes) {
        try {
          const response = await retry('oss', () => submitOne(bucket, plan.source.key, process));
          started.push({ taskId: response.TaskId, outputs: [key] });
        } catch (error) {
          throw started.length === 0 ? error : new PartialSubmitError(started, 'oss', error);
        }
      }
      return started;
    },
  };
}

async function submitOne(bucket: BucketApi, key: string, process: string) {
  try {
    return await bucket.asyncProcess(key, process);
  } catch (error) {
    throw isImmNotAttached(error) ? new ImmNotAttachedError(bucket.bucket, error) : error;
  }
}
