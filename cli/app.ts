/**
 * Everything a command needs once one runs, bundled apart from cli/main.ts (scripts/build-cli.ts): `--help` and
 * usage errors load commander alone. Each command (and the cloud clients behind `connect`) loads when it is called.
 */
export { loadAppSettings } from './settings';
export { createOutput } from './output';

function lazy<A extends unknown[], R>(load: () => Promise<(...args: A) => R | Promise<R>>): (...args: A) => Promise<R> {
  return async (...args) => (await load())(...args);
}

export const connect = lazy(async () => (await import('./target')).connect);
export const status = lazy(async () => (await import('./commands/status')).status);
export const jobs = lazy(async () => (await import('./commands/jobs')).jobs);
export const show = lazy(async () => (await import('./commands/show')).show);
export const backfill = lazy(async () => (await import('./commands/backfill')).backfill);
export const retry = lazy(async () => (await import('./commands/retry')).retry);
export const plan = lazy(async () => (await import('./commands/plan')).plan);
export const gallery = lazy(async () => (await import('./commands/gallery')).gallery);
export const doctor = lazy(async () => (await import('./commands/doctor')).doctor);
