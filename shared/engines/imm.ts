import type { ImmApi } from '../clients/imm';
import { immTaskRequest } from '../plan';
import type { ConversionEngine, Retrier } from './engine';

/** One CreateMediaConvertTask per job: every output of the rule is an animation of the same task. */
export function immEngine(imm: ImmApi, settings: { projectName: string; topicName: string }, retry: Retrier): ConversionEngine {
  return {
    async submit(plan) {
      const request = immTaskRequest(plan, settings);
      const response = await retry('imm', () => imm.createMediaConvertTask(request));
      return { outputTaskIds: plan.outputs.map(() => response.TaskId) };
    },
  };
}
