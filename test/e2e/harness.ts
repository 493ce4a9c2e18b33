// End-to-end harness: a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven by Debian's
// Chromium through playwright-core. Install code-server first with test/e2e/setup.sh.
// Every wait here is bounded; stop() kills every process this module started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserServer, type Frame, type Page } from 'playwright-core';

export const CODE_SERVER_VERSION = '4.100.3';
export const REPO_ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const RESULTS_DIR = join(REPO_ROOT, 'test-results', 'e2e');
export const CHROMIUM = process.env.LOUPE_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Longest single wait, in ms. */
export const WAIT_MS = 60_000;

export function codeServerDir(): string {
  const cache = process.env.LOUPE_E2E_CACHE ?? join(homedir(), '.cache', 'loupe-e2e');
  return join(cache, `code-server-${CODE_SERVER_VERSION}`);
}

const log = (msg: string) => console.log(`[e2e ${new Date().toISOString().slice(11, 23)}] ${msg}`);

export interface WorkbenchOptions {
  /** The .vsix to install. */
  vsix: string;
  /** The folder to open as the workspace. */
  folder: string;
  /** Extra user settings, merged over the calm defaults below. */
  settings?: Record<string, unknown>;
  /**
   * false (default): workspace trust is turned off, so the folder is trusted.
   * true: workspace trust is on and the startup prompt is off, so the folder opens in Restricted Mode (untrusted).
   */
  trust?: boolean;
  /** Browser viewport; default 1400×1000. */
  viewport?: { width: number; height: number };
  /** Name for the copied logs under test-results/e2e/logs/; default "workbench". */
  name?: string;
}

export interface Workbench {
  page: Page;
  browser: Browser;
  /** The workbench URL, with the folder opened. */
  url: string;
  /** The temporary user-data folder (logs under logs/). */
  userDataDir: string;
  /** code-server's stdout and stderr so far. */
  serverOutput(): string;
  /** The workbench page's browser console so far (VS Code's window log goes there). */
  consoleOutput(): string;
  /** Kills everything started (idempotent), copies logs to test-results/e2e/logs/<name>/, removes temp folders. */
  stop(): Promise<void>;
}

/** Thrown inside a waitFor callback, stops the wait at once (other errors are retried until the timeout). */
export class FatalWaitError extends Error {}

/** Polls fn until it returns a truthy value; throws after timeoutMs with `what` in the message. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = WAIT_MS, intervalMs = 250): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      if (e instanceof FatalWaitError) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rejects after ms. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Kills a process group started with detached: true; SIGTERM, then SIGKILL after graceMs. */
async function killGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  const pid = child.pid;
  if (!pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const ok = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  try {
    process.kill(-pid, 'SIGKILL'); // also any child left behind in the group
  } catch {
    /* gone */
  }
  if (!ok) await Promise.race([exited, sleep(2000)]);
}

const CALM_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.editor.enablePreview': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'chat.commandCenter.enabled': false,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'files.hotExit': 'off',
  'window.restoreWindows': 'none',
  'editor.minimap.enabled': false,
  'notebook.output.scrolling': false,
  // code-server is a remote window: VS Code's port finder runs `ls -l /proc/*/fd` and `ps` through child_process.exec in
  // the extension host every 2 s, and each fork stalls that host 30–60 ms here (seen in CPU profiles). A local desktop
  // window has no such scan, so it would only blur what the event-loop figures say about Loupe. code-server registers
  // a tunnel provider, which keeps the scan on unless its source is "output".
  'remote.autoForwardPorts': false,
  'remote.autoForwardPortsSource': 'output',
  // VS Code's proxy agent reads and parses every system CA certificate on the extension host's first fetch, once per
  // window and whoever fetches first (about 50–60 ms of X509 parsing in one task here, seen in a CPU profile). In a
  // real window another extension usually pays it at startup; here Loupe's first remote request would, inside a
  // measured generation phase. Requests still go through VS Code's patched fetch and its proxy resolution.
  'http.systemCertificates': false,
};

export async function startWorkbench(opts: WorkbenchOptions): Promise<Workbench> {
  const dir = codeServerDir();
  const entry = join(dir, 'out', 'node', 'entry.js');
  if (!existsSync(join(dir, '.loupe-e2e-complete'))) throw new Error(`code-server is not installed in ${dir}: run test/e2e/setup.sh`);
  if (!existsSync(opts.vsix)) throw new Error(`No vsix at ${opts.vsix}`);
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: run test/e2e/setup.sh`);

  const name = opts.name ?? 'workbench';
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-e2e-'));
  const userDataDir = join(tmp, 'user-data');
  const extensionsDir = join(tmp, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  const settings: Record<string, unknown> = {
    ...CALM_SETTINGS,
    'security.workspace.trust.enabled': !!opts.trust,
    ...(opts.trust ? { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false } : {}),
    ...opts.settings,
  };
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));

  let server: ChildProcess | undefined;
  let browserServer: BrowserServer | undefined;
  let browser: Browser | undefined;
  let output = '';
  let consoleOut = '';
  let stopped = false;
  const onExit = () => {
    // Last resort if the test process dies without stop(): synchronous kills only.
    for (const pid of [server?.pid, browserServer?.process().pid]) {
      if (pid) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  };
  process.on('exit', onExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (browser) await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => undefined);
    if (browserServer) {
      await withTimeout(browserServer.close(), 10_000, 'browserServer.close').catch(() => undefined);
      const child = browserServer.process();
      if (child.exitCode === null && child.signalCode === null) await killGroup(child, 1000);
    }
    if (server) await killGroup(server);
    process.off('exit', onExit);
    // Keep the logs (code-server's output, the extension host log, …) for the CI artefacts.
    const logsOut = join(RESULTS_DIR, 'logs', name);
    try {
      rmSync(logsOut, { recursive: true, force: true });
      mkdirSync(logsOut, { recursive: true });
      writeFileSync(join(logsOut, 'code-server.log'), output);
      writeFileSync(join(logsOut, 'browser-console.log'), consoleOut);
      if (existsSync(join(userDataDir, 'logs'))) cpSync(join(userDataDir, 'logs'), join(logsOut, 'user-data-logs'), { recursive: true });
    } catch (e) {
      log(`could not copy logs: ${String(e)}`);
    }
    if (process.env.LOUPE_E2E_KEEP) log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };

  try {
    // 1. Install the extension.
    let t = Date.now();
    const inst = spawnSync(process.execPath, [entry, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', opts.vsix], {
      encoding: 'utf8',
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    output += `$ --install-extension ${opts.vsix}\n${inst.stdout ?? ''}${inst.stderr ?? ''}\n`;
    if (inst.status !== 0) throw new Error(`--install-extension failed (status ${inst.status}, ${inst.error ?? ''}):\n${inst.stdout}${inst.stderr}`);
    log(`installed ${basename(opts.vsix)} in ${Date.now() - t} ms`);

    // 2. Start code-server in its own process group.
    t = Date.now();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const logFile = createWriteStream(join(tmp, 'code-server.log'));
    server = spawn(
      process.execPath,
      [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--disable-telemetry', '--disable-update-check', '--ignore-last-opened', opts.folder],
      // The extension splits each event-loop stall into its own time and time spent waiting for a CPU (Linux).
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VSCODE_CLI: undefined, LOUPE_EVENT_LOOP_ATTRIBUTION: '1' } },
    );
    const collect = (b: Buffer) => {
      output += b.toString();
      logFile.write(b);
    };
    server.stdout?.on('data', collect);
    server.stderr?.on('data', collect);
    const srv = server;
    await waitFor('code-server to answer /healthz', async () => {
      if (srv.exitCode !== null || srv.signalCode !== null) throw new FatalWaitError(`code-server exited (${srv.exitCode ?? srv.signalCode}):\n${output}`);
      const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      return r.ok;
    });
    log(`code-server on ${base} in ${Date.now() - t} ms`);

    // 3. Chromium, through a BrowserServer so that its process is ours to kill.
    t = Date.now();
    browserServer = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: WAIT_MS, handleSIGINT: false });
    browser = await chromium.connect(browserServer.wsEndpoint(), { timeout: WAIT_MS });
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1400, height: 1000 } });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    page.on('console', (m) => {
      consoleOut += `[${m.type()}] ${m.text()}\n`;
    });
    page.on('pageerror', (e) => {
      consoleOut += `[pageerror] ${e.stack ?? e.message}\n`;
    });
    const url = `${base}/?folder=${encodeURIComponent(opts.folder)}`;
    await page.goto(url, { timeout: WAIT_MS });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: WAIT_MS });
    // The explorer shows the folder once the workbench has restored.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ state: 'visible', timeout: WAIT_MS });
    log(`workbench ready in ${Date.now() - t} ms`);
    return { page, browser, url, userDataDir, serverOutput: () => output, consoleOutput: () => consoleOut, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Opens a file of the workspace through Quick Open (Ctrl+P). */
export async function openFile(page: Page, relPath: string): Promise<void> {
  await dismissQuickInput(page);
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: WAIT_MS });
  await input.fill(relPath);
  const file = basename(relPath);
  // Wait until the file search has found it, then pick the row naming it.
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(file)}$`) }) });
  await row.first().waitFor({ state: 'visible', timeout: WAIT_MS });
  await row.first().click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: WAIT_MS });
}

/**
 * Opens a file by clicking it in the Explorer (top-level entries only). Unlike Quick Open, this is an explicit
 * user gesture for VS Code (EditorOpenSource.USER): an editor that fails to open shows a modal dialog with the error.
 */
export async function openFileFromExplorer(page: Page, name: string): Promise<void> {
  await dismissQuickInput(page);
  // A context menu left open by an earlier step would swallow the click.
  const menu = page.locator('.context-view .monaco-menu');
  if (await menu.isVisible()) {
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
  }
  const row = page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(name)}$`) }) });
  await row.first().waitFor({ state: 'visible', timeout: WAIT_MS });
  await row.first().click();
}

/** Runs a command by its palette title, e.g. "Notebook: Run All". */
export async function runCommand(page: Page, title: string): Promise<void> {
  await dismissQuickInput(page);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: WAIT_MS });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(title)}$`) }) });
  await row.first().waitFor({ state: 'visible', timeout: WAIT_MS });
  await row.first().click();
}

/** Closes an open quick input (palette, quick pick) if there is one. */
export async function dismissQuickInput(page: Page): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  if (await widget.isVisible()) {
    await page.keyboard.press('Escape');
    await widget.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
  }
}

/** The notebook webview frames (VS Code puts all outputs of a notebook in one) that hold rendered Loupe output. */
export async function rendererFrames(page: Page, selector = '.loupe-result'): Promise<Frame[]> {
  const found: Frame[] = [];
  for (const frame of page.frames()) {
    if (frame === page.mainFrame() || frame.isDetached()) continue;
    try {
      if ((await frame.locator(selector).count()) > 0) found.push(frame);
    } catch {
      /* frame went away while we looked */
    }
  }
  return found;
}

/** Saves test-results/e2e/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path, timeout: WAIT_MS });
  log(`screenshot ${path}`);
  return path;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
