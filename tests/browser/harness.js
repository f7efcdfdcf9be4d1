// Starts a dev server of its own (fresh SQLite file and blob folder in a temporary directory, a
// free loopback port), the system's headless Chromium, and offers the tenant API calls the tests
// need. Screenshots go to target/browser-screenshots/ (or $KYC_SCREENSHOT_DIR).

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../..');
const require = createRequire(import.meta.url);

const SERVER = process.env.KYC_DEV_SERVER || path.join(REPO, 'target/debug/kyc-dev-server');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = process.env.KYC_SCREENSHOT_DIR || path.join(REPO, 'target/browser-screenshots');
export const FIXTURES = path.join(REPO, 'tests/fixtures');

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/// A running dev server with its seeded demo (base_url, api_key, workflow_id, …).
export async function startServer() {
  const dir = await mkdtemp(path.join(tmpdir(), 'kyc-browser-'));
  const port = await freePort();
  const child = spawn(SERVER, [], {
    cwd: dir,
    env: {
      ...process.env,
      PORT: String(port),
      KYC_SQLITE_PATH: path.join(dir, 'kyc.db'),
      KYC_BLOB_DIR: path.join(dir, 'blobs'),
      KYC_LOG_FORMAT: 'text',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 200 && !output.includes('KYC backend running'); i++) {
    if (child.exitCode !== null) throw new Error(`dev server exited:\n${output}`);
    await sleep(50);
  }
  if (!output.includes('KYC backend running')) throw new Error(`dev server did not start:\n${output}`);
  const demo = JSON.parse(await readFile(path.join(dir, '.dev/demo.json'), 'utf8'));
  return {
    ...demo,
    async stop() {
      child.kill('SIGINT');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
    /// A tenant API call with the demo's test key; answers `data` or throws.
    async tenant(method, route, body) {
      const response = await fetch(demo.base_url + route, {
        method,
        headers: { Authorization: `Bearer ${demo.api_key}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const envelope = await response.json();
      if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(envelope)}`);
      return envelope.data;
    },
  };
}

/// The system's Chromium, headless, with nothing that calls home (Playwright gives every launch
/// a fresh temporary profile of its own).
export async function startBrowser() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

export const DESKTOP = { width: 1280, height: 900 };
export const MOBILE = { width: 360, height: 740 };

/// Saves the page at desktop width and at 360 px as `{desktop,mobile}-{name}.png`.
export async function screenshots(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const size = page.viewportSize();
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(SCREENSHOTS, `desktop-${name}.png`), fullPage: true });
  await page.setViewportSize(MOBILE);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: path.join(SCREENSHOTS, `mobile-${name}.png`), fullPage: true });
  await page.setViewportSize(size);
  if (overflow > 0) throw new Error(`${name}: the page is ${overflow} px wider than 360 px`);
}

const AXE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

/// Runs axe-core (from node_modules, no CDN) on the page; answers its critical violations.
export async function criticalViolations(page) {
  await page.evaluate(AXE);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
