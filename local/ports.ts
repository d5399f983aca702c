import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from '../shared/platform/zod';

/**
 * The ports a restartable stack (npm start) listened on, kept in `<dataDir>/ports.json` so the next start takes
 * the same ones when they are free: an open gallery and the addresses a user copied keep working across restarts.
 */
const PortSchema = z.int().check(z.gte(1), z.lte(65535));
export const SavedPortsSchema = z.object({
  oss: z.optional(PortSchema),
  imm: z.optional(PortSchema),
  fc: z.optional(PortSchema),
  mns: z.optional(PortSchema),
});
export type SavedPorts = z.infer<typeof SavedPortsSchema>;
export type PortName = keyof SavedPorts;

const portsFile = (dataDir: string) => path.join(dataDir, 'ports.json');

/** The ports of the last run; none when there was none or the file is not ours (the stack then picks free ones). */
export async function loadSavedPorts(dataDir: string): Promise<SavedPorts> {
  try {
    const parsed = SavedPortsSchema.safeParse(JSON.parse(await readFile(portsFile(dataDir), 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

export async function savePorts(dataDir: string, ports: SavedPorts): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(`${portsFile(dataDir)}.tmp`, `${JSON.stringify(ports, null, 2)}\n`);
  await rename(`${portsFile(dataDir)}.tmp`, portsFile(dataDir));
}

/**
 * Starts a server on its saved port; when that port is taken (EADDRINUSE), on a free one, saying so through `log`.
 * Without a saved port it picks a free one (port 0).
 */
export async function listenOnSavedPort<T>(name: PortName, saved: number | undefined, start: (port: number) => Promise<T>, log: (line: string) => void): Promise<T> {
  if (saved === undefined) return start(0);
  try {
    return await start(saved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    log(`${name} port ${saved} of the last run is taken by another program: listening on a new port (an open gallery must be reopened)`);
    return start(0);
  }
}
