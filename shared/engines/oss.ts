import type { BucketApi } from '../clients/oss';
import { previewOutputKey } from '../media/previews';
import { PermanentFailure, ServiceFailure, ServiceResponseError, type ServiceErrorInfo } from '../platform/errors';
import { PartialSubmitError, type ConversionEngine, type Retrier, type StartedTask } from './engine';
import { ossProcessString, ossStoryboardProcessString } from './oss-process';

/**
 * OSS's answer when the bucket has no IMM project attached: Code `Imm Client` (OSS's code for every IMM-side
 * refusal), and only the message tells which: `ResourceNotFound ... Attachment`. The message picks the explanation
 * given to the user; the code alone already makes it permanent.
 */
export function isImmNotAttached(error: unknown): error is ServiceResponseError {
  return error instanceof ServiceResponseError && error.code === 'Imm Client' && error.message.includes('ResourceNotFound') && error.message.includes('Attachment');
}

/** The bucket has no IMM project attached, so OSS cannot run `x-oss-async-process`: permanent, only the user can fix it. */
export class ImmNotAttachedError extends ServiceFailure {
  override name = 'ImmNotAttachedError';
  readonly info: ServiceErrorInfo;

  constructor(
    readonly bucket: string,
    cause: ServiceResponseError,
  ) {
    const message =
      `bucket "${bucket}" has no IMM project attached, so OSS cannot run x-oss-async-process for engine oss. ` +
      `Attach the bucket to an IMM project in the same region: in the OSS console under Data Processing > IMM, ` +
      `or with IMM AttachOSSBucket (OSSBucket=${bucket}, ProjectName=<your project>). OSS said: ${cause.code}: ${cause.message}`;
    super(message, { cause });
    this.info = { service: 'oss', status: cause.status < 500 ? cause.status : 400, code: cause.code, message, transient: false, ambiguous: false };
  }
}

/**
 * OSS asynchronous processing (`POST /<key>?x-oss-async-process`): one call, hence one IMM task, per output, since
 * the API takes a single output: `video/animation` per animation, `video/sprite` per storyboard (its task makes the
 * one sheet; the record function writes the WebVTT file, recorded under the storyboard's key as with engine imm).
 * A processing string carries no tags, so this engine cannot find its tasks again (no findJobTasks): see the README
 * on the remaining risk of a second task after a crash.
 */
export function ossAsyncEngine(bucket: BucketApi, settings: { topicName: string }, retry: Retrier): ConversionEngine {
  return {
    async submit(plan) {
      // Built before the first POST so an output OSS cannot express fails the job before any task starts.
      const processes = [
        ...plan.outputs.map((output) => ({ key: output.resolvedKey, process: ossProcessString(plan, output, settings) })),
        ...(plan.previews ?? []).map((preview) => {
          // Validation refuses posters with engine oss (ossPreviewProblems); a rule changed behind it fails here.
          if (preview.kind !== 'storyboard') throw new PermanentFailure('UnsupportedByEngine', `poster ${preview.keys.key} cannot be sent to OSS: engine oss makes storyboards only`);
          return { key: previewOutputKey(preview), process: ossStoryboardProcessString(plan, preview, settings) };
        }),
      ];
      const started: StartedTask[] = [];
      for (const { key, process } of processes) {
        try {
          // Starts a billed task: never re-sent after an ambiguous failure (the job then waits, see app/advance.ts).
          const response = await retry('oss', () => submitOne(bucket, plan.source.key, process), 'starts-task');
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
