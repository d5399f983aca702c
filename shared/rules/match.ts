import type { Rule } from './schema';

/** The lower-case extension of a key's file name, or '' when it has none. */
export function keyExtension(key: string): string {
  const basename = key.slice(key.lastIndexOf('/') + 1);
  const dot = basename.lastIndexOf('.');
  return dot > 0 ? basename.slice(dot + 1).toLowerCase() : '';
}

export function ruleMatches(rule: Pick<Rule, 'prefix' | 'suffixes'>, key: string): boolean {
  return key.startsWith(rule.prefix) && !key.endsWith('/') && rule.suffixes.includes(keyExtension(key));
}

/** The rules whose prefix and suffixes match the key, in configuration order. */
export function matchRules<R extends Pick<Rule, 'prefix' | 'suffixes'>>(rules: readonly R[], key: string): R[] {
  return rules.filter((rule) => ruleMatches(rule, key));
}

/** Two prefixes can select a common key when one starts with the other. */
export function prefixesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}
