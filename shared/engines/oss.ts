import type { BucketApi } from '../clients/oss';
import { describeServiceError } from '../errors';
import type { ConversionEngine, Retrier } from './engine';
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
 * A later output's POST failed after earlier ones had started tasks; those keep running (and are billed), so their
 * ids travel with the error. Status and code are the failure's own, so describeServiceError sorts it like its cause.
 */
export class PartialSubmitError extends Error {
  override name = 'PartialSubmitError';
  readonly status?: number;
  readonly code: string;

  constructor(
    /** Task ids of outputs[0 .. failedOutput - 1], in output order. */
    readonly startedTaskIds: string[],
    readonly failedOutput: number,
    cause: unknown,
  ) {
    const info = describeServiceError('oss', cause);
    super(
      `outputs[${failedOutput}] could not be submitted (${info.code}: ${info.message}); ` +
        `tasks already started for the earlier outputs: ${startedTaskIds.join(', ')}`,
      { cause },
    );
    if (info.status !== undefined) this.status = info.status;
    this.code = info.code;
  }
}

/**
 * OSS asynchronous processing (`POST /<key>?x-oss-async-process`, `video/animation`): one call, hence one IMM task,
 * per output, since the API takes a single output. Task ids are returned in output order.
 */
export function ossAsyncEngine(bucket: BucketApi, settings: { topicName: string }, retry: Retrier): ConversionEngine {
  return {
    async submit(plan) {
      // Built before the first POST so an output OSS cannot express fails the job before any task starts.
      const processes = plan.outputs.map((output) => ossProcessString(plan, output, settings));
      const outputTaskIds: string[] = [];
      for (const [index, process] of processes.entries()) {
        try {
          const response = await retry('oss', () => submitOne(bucket, plan.source.key, process));
          outputTaskIds.push(response.TaskId);
        } catch (error) {
          throw outputTaskIds.length === 0 ? error : new PartialSubmitError(outputTaskIds, index, error);
        }
      }
      return { outputTaskIds };
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
