// Shared by the renderer tests and bench/renderer.ts: a local file server, Chromium, the harness page, fixtures.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RESULT_VERSION, allRegions, type LoupeResult, type Region, type ResultImage, type Run } from '../../src/common/result';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Only these files are served: the harness and the renderer bundle.
const SERVED: Record<string, string> = {
  '/test/renderer/harness.html': 'text/html; charset=utf-8',
  '/test/renderer/harness.js': 'text/javascript; charset=utf-8',
  '/dist/renderer.js': 'text/javascript; charset=utf-8',
  '/dist/renderer.js.map': 'application/json',
};

export async function startServer(): Promise<{ base: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const type = SERVED[path];
    if (!type) return res.writeHead(404).end();
    try {
      const body = await readFile(join(ROOT, path));
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export function launch(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** Opens the harness; every request the page makes is recorded so tests can check none leaves the machine. */
export async function openHarness(browser: Browser, base: string, viewport = { width: 1000, height: 800 }): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  // tsx compiles the test's page.evaluate callbacks with esbuild's keepNames, which calls a __name helper.
  await page.addInitScript('globalThis.__name = (f) => f');
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(`${base}/test/renderer/harness.html`);
  await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
  return { page, requests };
}

/** The harness on a fresh server and browser, for a test file's before/after. */
export interface Harness {
  page: Page;
  /** Every URL the page requested. */
  requests: string[];
  /** Closes browser and server; returns the requests that went anywhere but the local server, blob: or data:. */
  close(): Promise<string[]>;
}

export async function startHarness(): Promise<Harness> {
  const { base, server } = await startServer();
  const browser = await launch();
  const { page, requests } = await openHarness(browser, base);
  return {
    page,
    requests,
    async close() {
      const outside = requests.filter((u) => !u.startsWith(base + '/') && !u.startsWith('blob:') && !u.startsWith('data:'));
      await browser.close();
      server.close();
      return outside;
    },
  };
}

/** A prompt result with one run over all its images (pass `runs` in `extra` for several). */
export function makeResult(images: ResultImage[], regions: Region[], answer: string, extra: Partial<LoupeResult> = {}): LoupeResult {
  return {
    version: RESULT_VERSION,
    kind: 'prompt',
    status: 'ok',
    task: 'detect',
    images,
    runs: [{ images: images.map((i) => i.index), status: 'ok', answer, regions, warnings: [], stats: {} }],
    params: {},
    timings: {},
    warnings: [],
    ...extra,
  };
}

/** The result with its first run changed (streaming steps). */
export function withRun(r: LoupeResult, patch: Partial<Run>): LoupeResult {
  return { ...r, runs: [{ ...r.runs[0]!, ...patch }, ...r.runs.slice(1)] };
}

/** Every region of a result, in the renderer's id order. */
export function regionsOf(r: LoupeResult): Region[] {
  return allRegions(r).map((x) => x.region);
}

/** The [start, end) of `needle` in `text`, for region spans. */
export function spanOf(text: string, needle: string, from = 0): [number, number] {
  const at = text.indexOf(needle, from);
  if (at < 0) throw new Error(`"${needle}" not in "${text}"`);
  return [at, at + needle.length];
}
