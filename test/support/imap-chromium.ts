import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { run } from '../../src/services/process.js';

const CHROMIUM = '/usr/bin/chromium';

/** Debian's chromium, installed with apt-get the first time (as the services script installs its servers). */
async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const prefix = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const apt = (args: string[]) => {
    const [cmd = 'apt-get', ...rest] = [...prefix, 'apt-get', ...args];
    return run(cmd, rest, { env, timeoutMs: 900_000 });
  };
  if ((await apt(['install', '-y', '-q', 'chromium'])).code !== 0) {
    await apt(['update', '-q']);
    await apt(['install', '-y', '-q', 'chromium']);
  }
  if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed and apt-get could not install it');
  return CHROMIUM;
}

/** Renders an email's HTML the way a webmail pane would (no JavaScript) and saves a PNG under test-artifacts/. */
export async function screenshotHtml(html: string, file: string): Promise<string> {
  const executablePath = await ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'countersign-chromium-'));
  // A fresh profile each time; playwright takes it as userDataDir rather than a --user-data-dir flag.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 680, height: 900 },
    javaScriptEnabled: false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    const dir = join(import.meta.dirname, '..', '..', 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, file);
    await page.screenshot({ path, fullPage: true });
    return path;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
