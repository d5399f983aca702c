import type { BucketApi } from './clients/oss';
import type { AppConfig } from './config';
import { TransientFailure } from './errors';
import type { ImmTaskNotice } from './events/mns';
import { isTerminal, type JobOutput, type JobRecord } from './jobs/record';
import type { JobStore } from './jobs/store';
import type { Logger } from './log';
import { parseUserData } from './plan';
import { outputTags } from './tags';

export interface CompleteDeps {
  config: AppConfig;
  log: Logger;
  now: () => number;
  bucket(name: string): Promise<BucketApi>;
  store(bucket: BucketApi): JobStore;
  retry: <T>(service: 'imm' | 'oss', operation: () => Promise<T>) => Promise<T>;
}

export type CompleteOutcome =
  | { status: 'ignored'; reason: string; taskId?: string }
  | { status: 'recorded' | 'duplicate'; jobId: string; taskId: string; jobStatus: JobRecord['status']; reason?: string };

/**
 * Records what a task's completion notice says: outputs checked and tagged, the job moved to succeeded or failed.
 * A notice for a job already finished changes nothing; one that arrives before the submitter saved the task id
 * waits (throws) unless that submitter's lease has run out.
 */
export async function recordTaskNotice(notice: ImmTaskNotice, deps: CompleteDeps): Promise<CompleteOutcome> {
  const ignore = (reason: string): CompleteOutcome => ({ status: 'ignored', reason, taskId: notice.TaskId });
  if (notice.TaskType !== 'MediaConvert') return ignore(`task type ${notice.TaskType} is not ours`);
  const userData = parseUserData(notice.UserData);
  if (!userData) return ignore('UserData does not name a video-animation job');
  if (notice.Status !== 'Succeeded' && notice.Status !== 'Failed') return ignore(`status ${notice.Status} is not final`);

  const bucket = await deps.bucket(userData.bucket);
  const store = deps.store(bucket);
  const job = await deps.retry('oss', () => store.get(userData.jobId));
  if (!job) return ignore(`job record ${userData.jobId} does not exist in bucket ${userData.bucket}`);
  const base = { jobId: job.jobId, taskId: notice.TaskId };
  if (isTerminal(job.status)) return { status: 'duplicate', ...base, jobStatus: job.status, reason: `job is already ${job.status}` };

  const lease = job.attempts.at(-1)?.leaseExpiresAt;
  if (job.status === 'pending' && lease && Date.parse(lease) > deps.now()) {
    throw new TransientFailure(`job ${job.jobId} is still being submitted; the notice for task ${notice.TaskId} will be retried`);
  }
  const knownTasks = new Set(job.outputs.map((o) => o.taskId).filter((id): id is string => id !== undefined));
  if (knownTasks.size > 0 && !knownTasks.has(notice.TaskId)) return ignore(`task ${notice.TaskId} is not the one job ${job.jobId} tracks`);

  const mine = (output: JobOutput) => output.taskId === undefined || output.taskId === notice.TaskId;
  const at = new Date(deps.now()).toISOString();
  let outputs: JobOutput[];
  let error: JobRecord['error'] = job.error;
  if (notice.Status === 'Succeeded') {
    const rule = deps.config.rules.find((r) => r.name === job.rule);
    outputs = [];
    for (const output of job.outputs) {
      if (!mine(output)) {
        outputs.push(output);
        continue;
      }
      const info = await deps.retry('oss', () => bucket.head(output.key));
      if (!info) {
        error = { code: 'OutputMissing', message: `task ${notice.TaskId} succeeded but ${output.key} does not exist` };
        outputs.push({ ...output, taskId: notice.TaskId, tagged: false });
        continue;
      }
      const tags = outputTags(
        { source: job.key, rule: job.rule, job: job.jobId, task: notice.TaskId, format: output.format },
        rule?.tags ?? {},
      );
      await deps.retry('oss', () => bucket.putTags(output.key, tags));
      outputs.push({ ...output, taskId: notice.TaskId, bytes: info.size, tagged: true });
    }
  } else {
    outputs = job.outputs.map((o) => (mine(o) ? { ...o, taskId: notice.TaskId } : o));
    error = { code: notice.Code || 'TaskFailed', message: notice.Message || `task ${notice.TaskId} failed` };
  }

  // A job whose outputs come from several tasks (OSS engine) ends when the last of them has reported.
  const pendingElsewhere = outputs.some((o) => o.taskId !== notice.TaskId && o.bytes === undefined);
  const status: JobRecord['status'] = error ? 'failed' : pendingElsewhere ? job.status : 'succeeded';
  const updated: JobRecord = {
    ...job,
    status: status === 'pending' ? 'submitted' : status,
    taskId: job.taskId ?? notice.TaskId,
    outputs,
    error,
    task: { ...job.task, ...(notice.StartTime ? { startTime: notice.StartTime } : {}), ...(notice.EndTime ? { endTime: notice.EndTime } : {}) },
    updatedAt: at,
    ...(isTerminal(status) ? { finishedAt: at } : {}),
  };
  await deps.retry('oss', () => store.save(updated));
  deps.log.info(`job ${updated.status}`, { jobId: job.jobId, taskId: notice.TaskId, outputs: outputs.map((o) => ({ key: o.key, bytes: o.bytes })), error });
  return { status: 'recorded', ...base, jobStatus: updated.status };
}
