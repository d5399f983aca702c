import type { SampledPlan } from '../jobs/plan';
import type { MediaInfo } from '../jobs/sampling';
import type { Retrier } from '../platform/retry';
import { describeServiceError, ServiceFailure, type ServiceErrorInfo } from '../platform/errors';

export type { Retrier } from '../platform/retry';

/** A task an engine started, and the output keys it makes. */
export interface StartedTask {
  taskId: string;
  outputs: string[];
}

/** A task as IMM reports it now (GetTask, ListTasks). Both engines' tasks are IMM MediaConvert tasks. */
export interface TaskStatus {
  taskId: string;
  status: 'Running' | 'Succeeded' | 'Failed';
  code?: string;
  message?: string;
  startTime?: string;
  endTime?: string;
}

/** The port every conversion service implements. */
export interface ConversionEngine {
  /** Starts the task(s) for the plan's outputs; `attempt` goes into the tasks' tags where the engine has tags. */
  submit(plan: SampledPlan, attempt: number): Promise<StartedTask[]>;
  /**
   * Tasks already started for the job (IMM ListTasks by the job's tag), so a takeover adopts them instead of paying
   * twice; undefined when the engine cannot find its tasks again (engine oss: a processing string has no tags).
   */
  findJobTasks?(jobId: string): Promise<TaskStatus[]>;
}

/** Learns a source's duration, size and frame rate (IMM DetectMediaMeta), for outputs with a frame budget. */
export interface MediaProbe {
  probe(bucket: string, key: string): Promise<MediaInfo>;
}

/** Asks IMM where a task stands; undefined when IMM no longer knows it (IMM keeps task info for 7 days). */
export interface TaskLookup {
  getTask(taskId: string): Promise<TaskStatus | undefined>;
}

/**
 * A later output's submission failed after earlier ones had started tasks; those keep running (and are billed), so
 * they travel with the error, which is sorted like its cause (transient, permanent, or an unknown outcome).
 */
export class PartialSubmitError extends ServiceFailure {
  override name = 'PartialSubmitError';
  readonly info: ServiceErrorInfo;

  constructor(
    readonly started: StartedTask[],
    service: 'imm' | 'oss',
    cause: unknown,
  ) {
    const info = describeServiceError(service, cause);
    if (!info) throw cause;
    super(`${info.code}: ${info.message} (tasks already started: ${started.map((t) => t.taskId).join(', ')})`, { cause });
    this.info = info;
  }
}

/** IMM's task status strings, narrowed; anything not final counts as running. */
export function taskStatusOf(status: string): TaskStatus['status'] {
  return status === 'Succeeded' || status === 'Failed' ? status : 'Running';
}
