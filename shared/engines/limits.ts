import type { Rule } from '../rules/schema';
import { immPreviewProblems, immRuleProblems } from './imm';
import { ossEngineProblems, ossPreviewProblems } from './oss-process';

/** What each engine cannot express in a rule, for rule validation (which knows no engine itself). */
export function engineRuleProblems(rule: Rule): string[] {
  return rule.engine === 'imm' ? [...immRuleProblems(rule), ...immPreviewProblems(rule)] : [...ossEngineProblems(rule), ...ossPreviewProblems(rule)];
}
