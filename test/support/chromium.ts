import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { run } from '../../src/services/process.js';

const CHROMIUM = '/usr/bin/chromium';

/** Held while one test process installs Chromium; the others wait for it rather than race apt for its lock. */
const INSTALL_LOCK = join(tmpdir(), 'countersign-chromium-install.lock');
/** Longer than any install takes: a lock this old was left by a process that died. */
const STALE_LOCK_MS = 20 * 60_000;

async function takeInstallLock(): Promise<boolean> {
  for (;;) {
    try {
      mkdirSync(INSTALL_LOCK);
      return true;
    } catch {
      if (existsSync(CHROMIUM)) return false;
      const age = Date.now() - (statSync(INSTALL_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) rmSync(INSTALL_LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Debian's chromium, installed with apt-get the first time (as the services script installs its servers). Test
 * files run in parallel processes, so one installs and the rest wait for the binary.
 */
async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (!(await takeInstallLock())) return CHROMIUM;
  try {
    if (!existsSync(CHROMIUM)) await installChromium();
  } finally {
    rmSync(INSTALL_LOCK, { recursive: true, force: true });
  }
  if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed and apt-get could not install it');
  return CHROMIUM;
}

async function installChromium(): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const prefix = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const apt = (args: string[]) => {
    // Another program's apt (an unattended upgrade) may hold dpkg's lock for a while: wait for it, do not fail.
    const [cmd = 'apt-get', ...rest] = [...prefix, 'apt-get', '-o', 'DPkg::Lock::Timeout=300', ...args];
    return run(cmd, rest, { env, timeoutMs: 900_000 });
  };
  if ((await apt(['install', '-y', '-q', 'chromium'])).code !== 0) {
    await apt(['update', '-q']);
    await apt(['install', '-y', '-q', 'chromium']);
  }
}

/**
 * Debian's Chromium headless with a fresh profile, with the flags this machine's closed network needs (without
 * them Chromium keeps trying to reach Google's hosts). `close()` also removes the profile.
 */
export async function launchChromium(opts: { width: number; height: number; javaScriptEnabled: boolean }) {
  const executablePath = await ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'countersign-chromium-'));
  // playwright takes the profile as userDataDir rather than a --user-data-dir flag.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: opts.width, height: opts.height },
    javaScriptEnabled: opts.javaScriptEnabled,
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
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go: test-artifacts/ (git-ignored), kept after the run for people to look at. */
export function artifactPath(file: string): string {
  const dir = join(import.meta.dirname, '..', '..', 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return join(dir, file);
}

/** Renders an email's HTML the way a webmail pane would (no JavaScript) and saves a PNG under test-artifacts/. */
export async function screenshotHtml(html: string, file: string): Promise<string> {
  const browser = await launchChromium({ width: 680, height: 900, javaScriptEnabled: false });
  try {
    const page = await browser.context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    const path = artifactPath(file);
    await page.screenshot({ path, fullPage: true });
    return path;
  } finally {
    await browser.close();
  }
}
