import { access } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

/**
 * A headless Chromium for the browser tests, whatever the machine has: `CHROMIUM_PATH`, else Debian's
 * `/usr/bin/chromium`, else the build shipped inside the `@sparticuz/chromium` npm package (a dev dependency: its
 * binary is in the package, unpacked to /tmp on first use, nothing downloaded at install time). Set
 * `VIDEO_ANIMATION_NO_SYSTEM_CHROMIUM=1` to skip the first two, as on a machine with only Node and `npm ci`.
 * Resolves to a reason instead when none starts, for `test.skip`-style messages.
 */
export async function launchTestBrowser(): Promise<{ browser: Browser; source: string } | { unavailable: string }> {
  const tried: string[] = [];
  if (process.env['VIDEO_ANIMATION_NO_SYSTEM_CHROMIUM'] !== '1') {
    const system = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
    try {
      await access(system);
      return { browser: await chromium.launch({ executablePath: system, args: SYSTEM_ARGS, headless: true }), source: system };
    } catch (error) {
      tried.push(`${system}: ${firstLine(error)}`);
    }
  }
  try {
    const { default: packaged } = await import('@sparticuz/chromium');
    const executablePath = await packaged.executablePath();
    // Its Lambda-minded --single-process ends the whole browser when a page closes; tests open and close many.
    const args = [...packaged.args.filter((arg) => arg !== '--single-process'), '--disable-quic'];
    return { browser: await chromium.launch({ executablePath, args, headless: true }), source: `@sparticuz/chromium (${executablePath})` };
  } catch (error) {
    tried.push(`@sparticuz/chromium: ${firstLine(error)}`);
  }
  return { unavailable: `no Chromium could start (${tried.join('; ')}); run npm ci, or install Debian's chromium package` };
}

const SYSTEM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
