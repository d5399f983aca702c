/**
 * The schema library as the functions use it: zod's tree-shakable "mini" build, because cold start is part of the
 * product (the classic build adds ~450 KB to each bundle). Import it as `import * as z from './zod'` so the bundler
 * keeps only what is used. English messages are opted into, as mini requires.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
