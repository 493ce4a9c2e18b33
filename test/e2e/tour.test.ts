// End-to-end: the packaged extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) in Chromium.
//   node --import tsx --test test/e2e/tour.test.ts
// `npm test` (scripts/test.mjs) also picks this file up; LOUPE_E2E_SKIP=1 skips it there.
// Env: LOUPE_E2E_VSIX=<path> skips `npm run package` and installs that vsix; LOUPE_E2E_CACHE moves the
// code-server install; LOUPE_E2E_KEEP=1 keeps the temp folders. Screenshots and logs: test-results/e2e/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { REPO_ROOT, WAIT_MS, openFile, openFileFromExplorer, rendererFrames, runCommand, screenshot, sleep, startWorkbench, waitFor, type Workbench } from './harness';

const MALFORMED = '{"loupe": 1, "cells": [ oops';
const CONTROLLER_LABEL = 'Loupe (local model)';
// The image cells of examples/tour.loupe, in order, with the images' natural sizes (examples/images/README.md).
const EXPECTED_CELLS = [
  [['coffee.png', 600, 400]],
  [['text.png', 448, 172]],
  [
    ['chelsea.png', 451, 300],
    ['rocket.jpg', 640, 427],
  ],
] as const;

const SKIP = process.env.LOUPE_E2E_SKIP ? 'LOUPE_E2E_SKIP is set' : false;

let wb: Workbench | undefined;
let workspace: string;
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function run(cmd: string, args: string[], timeoutMs: number): void {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit', timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, CI: 'true' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: status ${r.status}${r.signal ? `, signal ${r.signal}` : ''}${r.error ? `, ${r.error}` : ''}`);
}

function vsixPath(): string {
  if (process.env.LOUPE_E2E_VSIX) return process.env.LOUPE_E2E_VSIX;
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  return join(REPO_ROOT, `${pkg.name}-${process.platform}-${process.arch}-${pkg.version}.vsix`);
}

before(
  async () => {
    if (SKIP) return;
    run('bash', [join(REPO_ROOT, 'test/e2e/setup.sh')], 30 * 60_000);
    console.log(`[e2e] setup.sh done at ${elapsed()}`);
    if (!process.env.LOUPE_E2E_VSIX) {
      run('npm', ['run', 'package'], 5 * 60_000);
      console.log(`[e2e] npm run package done at ${elapsed()}`);
    }
    workspace = mkdtempSync(join(tmpdir(), 'loupe-e2e-ws-'));
    cpSync(join(REPO_ROOT, 'examples'), workspace, { recursive: true });
    writeFileSync(join(workspace, 'bad.loupe'), MALFORMED);
    // Tall enough for every cell and output of the tour, so nothing is virtualized away and the screenshot shows all.
    wb = await startWorkbench({ vsix: vsixPath(), folder: workspace, viewport: { width: 1400, height: 2400 }, name: 'tour' });
    console.log(`[e2e] workbench up at ${elapsed()}`);
  },
  { timeout: 40 * 60_000 },
);

after(
  async () => {
    await wb?.stop();
    if (workspace && !process.env.LOUPE_E2E_KEEP) rmSync(workspace, { recursive: true, force: true });
    console.log(`[e2e] done at ${elapsed()}`);
  },
  { timeout: 60_000 },
);

/** Runs body; on failure saves test-results/e2e/<name>-failure.png first. */
async function withFailureShot(name: string, body: (page: Page) => Promise<void>): Promise<void> {
  assert.ok(wb, 'workbench did not start');
  try {
    await body(wb.page);
  } catch (e) {
    await screenshot(wb.page, `${name}-failure`).catch(() => undefined);
    throw e;
  }
}

/** The visible notebook editor widget (VS Code lays it over the editor group as `.notebookOverlay`). */
const activeNotebook = (page: Page) => page.locator('.notebookOverlay.notebook-editor:visible');

interface ImgInfo {
  alt: string;
  complete: boolean;
  naturalWidth: number;
  dataW: string | undefined;
  dataH: string | undefined;
}
interface ResultInfo {
  status: string | undefined;
  errors: string[];
  imgs: ImgInfo[];
}

async function renderedResults(page: Page): Promise<ResultInfo[]> {
  const out: ResultInfo[] = [];
  for (const frame of await rendererFrames(page)) {
    out.push(
      ...(await frame.$$eval('.loupe-result', (roots) =>
        roots.map((r) => ({
          status: (r as HTMLElement).dataset.status,
          errors: [...r.querySelectorAll('.loupe-error')].map((e) => e.textContent ?? ''),
          imgs: [...r.querySelectorAll('figure img')].map((i) => {
            const img = i as HTMLImageElement;
            return { alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth, dataW: img.dataset.naturalWidth, dataH: img.dataset.naturalHeight };
          }),
        })),
      )),
    );
  }
  return out;
}

test('tour.loupe opens as a Loupe notebook and Run All renders its images', { timeout: 180_000, skip: SKIP }, () =>
  withFailureShot('tour', async (page) => {
    await openFile(page, 'tour.loupe');
    const nb = activeNotebook(page);
    // A notebook, not JSON text: the cells' sources are shown as cells, and no text editor holds the raw JSON.
    await nb.locator('.cell-editor-container .view-lines', { hasText: '@image images/coffee.png' }).first().waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('.editor-group-container.active .monaco-editor .view-lines', { hasText: '"cells"' }).count(), 0, 'tour.loupe opened as JSON text');
    console.log(`[e2e] tour.loupe open as a notebook at ${elapsed()}`);

    await runCommand(page, 'Notebook: Run All');
    // If VS Code asks for a kernel, pick Loupe's (the only controller for this notebook type).
    let picked = false;
    const results = await waitFor(
      'four rendered images in the notebook webview',
      async () => {
        const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: CONTROLLER_LABEL });
        if (!picked && (await row.count()) > 0 && (await row.first().isVisible())) {
          console.log('[e2e] VS Code asked for a kernel: picking', CONTROLLER_LABEL);
          await row.first().click();
          picked = true;
        }
        const r = await renderedResults(page);
        return r.length === 3 && r.flatMap((x) => x.imgs).filter((i) => i.complete && i.naturalWidth > 0).length === 4 ? r : undefined;
      },
      WAIT_MS,
    );
    console.log(`[e2e] run all rendered at ${elapsed()} (kernel picked by hand: ${picked})`);

    // Execution succeeded: every code cell shows the success mark, none the error mark.
    await waitFor('three cells marked successful', async () => (await nb.locator('.codicon-notebook-state-success').count()) === 3, WAIT_MS);
    assert.equal(await nb.locator('.codicon-notebook-state-error').count(), 0, 'a cell is marked failed');

    // The rendered images: in .loupe-result figure img, alt naming the file and its natural size.
    assert.equal(results.length, EXPECTED_CELLS.length, `expected ${EXPECTED_CELLS.length} Loupe outputs, got ${results.length}`);
    results.forEach((res, i) => {
      const expected = EXPECTED_CELLS[i];
      assert.equal(res.status, 'ok', `output ${i + 1} status`);
      assert.deepEqual(res.errors, [], `output ${i + 1} shows errors`);
      assert.equal(res.imgs.length, expected.length, `output ${i + 1}: number of images`);
      res.imgs.forEach((img, j) => {
        const [file, w, h] = expected[j];
        assert.ok(img.alt.includes(file), `alt "${img.alt}" should name ${file}`);
        assert.ok(img.alt.includes(`${w}×${h}`), `alt "${img.alt}" should give ${w}×${h}`);
        assert.equal(`${img.dataW}×${img.dataH}`, `${w}×${h}`, `${file}: natural size in data attributes`);
        assert.ok(img.complete && img.naturalWidth > 0, `${file}: image decoded in the webview`);
      });
    });
    // No error output of any kind (VS Code's own error renderer included) in the notebook webview.
    for (const frame of await rendererFrames(page)) {
      const text = await frame.locator('body').innerText({ timeout: WAIT_MS });
      assert.doesNotMatch(text, /\b(Error|Traceback)\b/, 'the notebook webview shows an error');
    }
    await page.mouse.move(0, 0);
    await sleep(300); // let the last image paint
    await screenshot(page, 'tour-run-all');
  }),
);

test('a malformed .loupe file shows the parse error and is left unchanged', { timeout: 120_000, skip: SKIP }, () =>
  withFailureShot('malformed', async (page) => {
    const file = join(workspace, 'bad.loupe');
    const before = readFileSync(file);
    // Opened by a click in the Explorer (a user gesture), VS Code 1.100 shows the serializer's error in a modal
    // dialog ("Unable to open 'bad.loupe'" + the message); opened otherwise (Quick Open, API) it shows only a
    // generic placeholder and logs the message.
    await openFileFromExplorer(page, 'bad.loupe');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
    const text = await dialog.innerText();
    console.log(`[e2e] malformed file dialog: ${text.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
    assert.match(text, /bad\.loupe/);
    assert.match(text, /:1:\d+: invalid JSON/, 'the dialog shows the serializer message with line and column');
    await screenshot(page, 'malformed-error');
    await page.keyboard.press('Escape'); // "Cancel"
    await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
    // Cancelled, VS Code closes the editor it could not open: no tab for it, and no notebook shows its content.
    await waitFor('the bad.loupe tab to close', async () => (await page.locator('.tabs-container .tab', { hasText: 'bad.loupe' }).count()) === 0, WAIT_MS);
    assert.match(wb!.consoleOutput(), /:1:\d+: invalid JSON/, 'the window log has the serializer message');
    // Opened through Quick Open, VS Code keeps a tab with its generic error placeholder instead of a notebook.
    await openFile(page, 'bad.loupe');
    const placeholder = page.locator('.editor-group-container.active .monaco-editor-pane-placeholder');
    await placeholder.waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await placeholder.innerText(), /could not be opened/);
    assert.equal(await activeNotebook(page).count(), 0, 'a notebook editor is showing bad.loupe');
    await screenshot(page, 'malformed-placeholder');
    // Nothing was written: the file on disk is byte for byte what it was.
    await sleep(1000);
    assert.deepEqual(readFileSync(file), before, 'bad.loupe changed on disk');
    assert.equal(readFileSync(file, 'utf8'), MALFORMED);
  }),
);
