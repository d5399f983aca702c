import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** The file a running local stack leaves in its data folder so other programs (the command line) can reach it. */
export const ENDPOINTS_FILE_NAME = 'endpoints.json';

export const LocalEndpointsSchema = z.object({
  /** The process that runs the stack: a file left by a stack that died names a process that is gone. */
  pid: z.number().int(),
  region: z.string(),
  bucket: z.string(),
  accountId: z.string(),
  /** `http://127.0.0.1:PORT` */
  ossEndpoint: z.string(),
  /** `127.0.0.1:PORT`, plain HTTP (the OpenAPI clients' `endpoint` with `protocol: 'http'`). */
  immEndpoint: z.string(),
  /** `127.0.0.1:PORT`, plain HTTP. */
  fcEndpoint: z.string(),
  credentials: z.object({ accessKeyId: z.string(), accessKeySecret: z.string() }),
  startedAt: z.string(),
});
export type LocalEndpoints = z.infer<typeof LocalEndpointsSchema>;

export async function writeEndpointsFile(dataDir: string, endpoints: LocalEndpoints): Promise<string> {
  const file = path.join(dataDir, ENDPOINTS_FILE_NAME);
  // Holds the local AccessKey, which only opens loopback services; still, no one else needs to read it.
  await writeFile(file, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
  return file;
}

export async function removeEndpointsFile(dataDir: string): Promise<void> {
  await rm(path.join(dataDir, ENDPOINTS_FILE_NAME), { force: true });
}

/** The endpoints of the stack running on `dataDir`, or undefined when there is no file (no stack was started there). */
export async function readEndpointsFile(dataDir: string): Promise<LocalEndpoints | undefined> {
  const file = path.join(dataDir, ENDPOINTS_FILE_NAME);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = LocalEndpointsSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file} is not a local stack endpoints file; restart the local stack (npm start) to write it again`);
  return parsed.data;
}

/** Whether the stack that wrote an endpoints file still runs (its pid answers signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
