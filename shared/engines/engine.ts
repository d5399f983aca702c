import type { JobPlan } from '../plan';

/** Runs a call to a cloud service with the app's retry policy (see shared/retry.ts). */
export type Retrier = <T>(service: 'imm' | 'oss', operation: () => Promise<T>) => Promise<T>;

/** The port every conversion service implements: start the job's task(s), return one task id per output. */
export interface ConversionEngine {
  submit(plan: JobPlan): Promise<{ outputTaskIds: string[] }>;
}
