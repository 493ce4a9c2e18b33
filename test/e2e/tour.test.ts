// End-to-end: the packaged extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) in Chromium,
// running prompt cells on the generated fixture models (aliased to the registry ids with loupe.customModels).
//   node --import tsx --test test/e2e/tour.test.ts
// One workbench for every scenario here (the untrusted one is in untrusted.test.ts). Scenarios run in order and
// share the workbench; each saves test-results/e2e/<scenario>.png (and <scenario>-failure.png when it fails).
// Env: LOUPE_E2E_SKIP=1 skips; LOUPE_E2E_VSIX=<path> installs that vsix; LOUPE_E2E_KEEP=1 keeps temp folders.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page, Request } from 'playwright-core';
import { RESULTS_DIR, WAIT_MS, openFile, openFileFromExplorer, rendererFrames, runCommand, screenshot, sleep, startWorkbench, waitFor, type Workbench } from './harness';
import { activeNotebook, allFrameText, batchView, cellState, cellText, codeCell, pickKernelIfAsked, renderedResults, resultWithImage, runAll, runCell, waitCellDone, workbenchResponds } from './loupe';
import { startServer, type TestServer } from '../helpers/openai-server';
import { SCREEN_BUTTONS, SKIP, SPOT_BOX, SPOT_SIZE, VIDEO_CLIP, batchSpot, eventLoopLines, makeWorkspace, modelSettings, prepare } from './workspace';
import { SPOT as CLIP_SPOT, spotBox } from '../helpers/video';

const MALFORMED = '{"loupe": 1, "cells": [ oops';
const EVENT_LOOP_LIMIT_MS = 50;
const EVENT_LOOP_HARD_MS = 250;
const NORMAL = { width: 1400, height: 1100 };
/** Tall enough for every cell and output of the tour, so nothing is virtualized away and the screenshot shows all. */
const TALL = { width: 1400, height: 10400 };

let wb: Workbench | undefined;
let workspace: string;
/** A vLLM-shaped server answering with the fixture Qwen2-VL model (user settings), and one a workspace names (ignored). */
let gpu: TestServer | undefined;
let trap: TestServer | undefined;
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const log = (m: string) => console.log(`[e2e +${elapsed()}] ${m}`);

/** Which logged cells were prompt cells, per scenario: filled as scenarios finish (for the event-loop check). */
const promptRuns: { scenario: string; cells: number[]; fromLine: number; toLine: number }[] = [];
let linesSeen = 0;
/** Waits (bounded) until `expected` of the prompt cells have logged their event-loop line, then records the new lines for `scenario`. */
async function recordEventLoop(scenario: string, expected: number, promptCells: number[]): Promise<void> {
  const from = linesSeen;
  await waitFor(`${expected} event-loop log lines for ${scenario}`, () => eventLoopLines(wb!.userDataDir).slice(from).filter((l) => promptCells.includes(l.cell)).length >= expected, 10_000).catch((e) => log(String(e)));
  linesSeen = eventLoopLines(wb!.userDataDir).length;
  promptRuns.push({ scenario, cells: promptCells, fromLine: from, toLine: linesSeen });
}

before(
  async () => {
    if (SKIP) return;
    const vsix = prepare(log);
    workspace = await makeWorkspace();
    writeFileSync(join(workspace, 'bad.loupe'), MALFORMED);
    gpu = await startServer({ models: ['Qwen/Qwen2-VL-2B-Instruct'], mode: 'fixture' });
    trap = await startServer({ models: ['Qwen/Qwen2-VL-2B-Instruct'], mode: 'fixture' });
    // A workspace must not choose where a user's images go: its loupe.engines (pointing at the trap) is ignored.
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'loupe.engines': [{ id: 'gpu', kind: 'vllm', baseUrl: trap.url }] }));
    const engines = [{ id: 'gpu', kind: 'vllm', baseUrl: gpu.url }];
    wb = await startWorkbench({ vsix, folder: workspace, viewport: NORMAL, name: 'tour', settings: { ...modelSettings(workspace), 'loupe.engines': engines } });
    log('workbench up');
  },
  { timeout: 40 * 60_000 },
);

after(
  async () => {
    await wb?.stop();
    await gpu?.close();
    await trap?.close();
    if (workspace && !process.env.LOUPE_E2E_KEEP) rmSync(workspace, { recursive: true, force: true });
    log('done');
  },
  { timeout: 60_000 },
);

/** Runs body; on failure saves test-results/e2e/<name>-failure.png first. */
async function scenario(name: string, eventLoop: { expected: number; cells: number[] } | undefined, body: (page: Page) => Promise<void>): Promise<void> {
  assert.ok(wb, 'workbench did not start');
  const t = Date.now();
  try {
    await body(wb.page);
  } catch (e) {
    await screenshot(wb.page, `${name}-failure`).catch(() => undefined);
    throw e;
  } finally {
    log(`scenario ${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    // Attribute the event-loop lines this scenario logged to it, pass or fail.
    if (eventLoop) await recordEventLoop(name, eventLoop.expected, eventLoop.cells);
  }
}

async function closeAllEditors(page: Page): Promise<void> {
  await runCommand(page, 'View: Close All Editors');
  await sleep(300);
  // A dirty notebook asks whether to save: don't.
  const dontSave = page.locator('.monaco-dialog-box .monaco-button', { hasText: /Don't Save/ });
  if (await dontSave.isVisible().catch(() => false)) await dontSave.click();
  await waitFor('no editor open', async () => (await page.locator('.tabs-container .tab').count()) === 0, 10_000);
}

// The code cells of examples/tour.loupe, in order: what each output must show.
const TOUR = [
  { text: '@image images/coffee.png', images: ['coffee.png'] },
  { text: '@image images/text.png', images: ['text.png'] },
  { text: '@image images/chelsea.png', images: ['chelsea.png', 'rocket.jpg'] },
  { text: '@task ocr-regions', images: ['text.png'], polygons: true },
  { text: '@task ground', images: ['coffee.png'], rects: true },
  { text: '@task describe-region', images: ['coffee.png'] },
  { text: '@model qwen2-vl-2b', images: ['chelsea.png', 'rocket.jpg'] },
  { text: '@task list-elements', images: ['screen-login.png'], rects: true },
  { text: '@task find-element', images: ['screen-login.png'], rects: true },
  { text: '@task tappable', images: ['screen-login.png'], rects: true },
  // Video: the filmstrip's frames (the large frame's image is one more).
  { text: '@video videos/rocket-pan.mp4', images: [], video: 6 },
  { text: 'the rocket', images: [], video: 6, rects: true },
  { text: 'What does the camera show', images: [], video: 4 },
] as const;
const CODE_CELLS = TOUR.length;

test(`tour.loupe: Run All runs all ${CODE_CELLS} code cells; images, OCR quads, grounding boxes, the comparison, the screens and the video cells render`, { timeout: 360_000, skip: SKIP }, () =>
  scenario('tour', { expected: 6, cells: [8, 10, 12, 14, 22, 24] }, async (page) => {
    await page.setViewportSize(TALL);
    await openFile(page, 'tour.loupe');
    const nb = activeNotebook(page);
    // A notebook, not JSON text.
    await nb.locator('.cell-editor-container .view-lines', { hasText: '@image images/coffee.png' }).first().waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('.editor-group-container.active .monaco-editor .view-lines', { hasText: '"cells"' }).count(), 0, 'tour.loupe opened as JSON text');
    await runAll(page);
    await waitFor(`the ${CODE_CELLS} code cells to finish`, async () => {
      await pickKernelIfAsked(page);
      const done = (await nb.locator('.codicon-notebook-state-success').count()) + (await nb.locator('.codicon-notebook-state-error').count());
      return done === CODE_CELLS;
    }, 300_000);
    log('tour: run all finished');
    const errors = await nb.locator('.code-cell-row', { has: page.locator('.codicon-notebook-state-error') }).allInnerTexts();
    assert.deepEqual(errors.map((t) => t.replace(/\s+/g, ' ').slice(0, 120)), [], 'tour cells marked failed');
    const results = await waitFor(`${CODE_CELLS} Loupe outputs with their images decoded`, async () => {
      const r = await renderedResults(page);
      return r.length === CODE_CELLS && r.every((x) => x.status !== 'running' && x.imgsLoaded === x.alts.length) ? r : undefined;
    });
    results.forEach((res, i) => {
      const exp = TOUR[i]!;
      const ctx = `tour output ${i + 1} (${exp.text})`;
      assert.equal(res.status, 'ok', `${ctx}: status (errors: ${res.errors.join('; ')})`);
      assert.deepEqual(res.errors, [], `${ctx}: errors`);
      if ('video' in exp) {
        // A filmstrip of the sampled frames, each named with its time, and the first frame large.
        assert.equal(res.alts.filter((a) => /^Frame \d+ at \d+:\d\d\.\d\d/.test(a)).length, exp.video, `${ctx}: filmstrip frames (alts: ${res.alts.join(' | ')})`);
        assert.equal(res.alts.length, exp.video + 1, `${ctx}: the frames and the large one`);
        assert.match(res.text, /rocket-pan\.mp4: 0:06, 12 fps, 360×240, h264/, `${ctx}: the clip's facts`);
        if ('rects' in exp) assert.ok(res.rects >= 2, `${ctx}: boxes on the frames (got ${res.rects})`);
        return;
      }
      assert.equal(res.alts.length, exp.images.length, `${ctx}: number of images`);
      exp.images.forEach((f, j) => assert.ok(res.alts[j]!.includes(f), `${ctx}: image ${j + 1} alt "${res.alts[j]}" should name ${f}`));
      if ('polygons' in exp) assert.ok(res.polygons >= 1, `${ctx}: OCR quads drawn as SVG polygons (got ${res.polygons})`);
      if ('rects' in exp) assert.ok(res.rects >= 1, `${ctx}: grounding boxes drawn as SVG rects (got ${res.rects})`);
      if (i >= 3) assert.ok(res.answer.trim().length > 0, `${ctx}: an answer is shown`);
    });
    // The comparison cell: two images side by side, both decoded.
    assert.equal(results[6]!.imgsLoaded, 2, 'comparison shows two decoded images');
    assert.match(results[3]!.answer, /FIXTURE TEXT/, 'the OCR answer (fixture text)');
    assert.match(results[9]!.text, /✓ tappable|tappable/, 'the tappable answer');
    const text = await allFrameText(page);
    assert.doesNotMatch(text, /\b(Traceback|Error:)/, 'a notebook webview shows an error');
    await page.mouse.move(0, 0);
    await sleep(300);
    await screenshot(page, 'tour-run-all');
    await page.setViewportSize(NORMAL);
  }),
);

test('Export Session → HTML writes tour.html, which opens in Chromium with its images and overlays, offline', { timeout: 120_000, skip: SKIP }, () =>
  scenario('export-html', undefined, async (page) => {
    const out = join(workspace, 'tour.html');
    rmSync(out, { force: true });
    await runCommand(page, 'Loupe: Export Session…');
    const pick = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'HTML (one self-contained file)' });
    await pick.first().waitFor({ state: 'visible', timeout: WAIT_MS });
    await pick.first().click();
    // code-server's simple save dialog: a quick input holding the suggested path.
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await waitFor('the save dialog to suggest tour.html', async () => (await input.isVisible()) && /tour\.html$/.test(await input.inputValue()), 20_000);
    log(`export: save dialog suggests ${await input.inputValue()}`);
    await page.keyboard.press('Enter');
    await waitFor('tour.html written', () => existsSync(out) && readFileSync(out, 'utf8').includes('</html>'), 30_000);
    await page.locator('.notifications-toasts', { hasText: /exported/ }).first().waitFor({ state: 'visible', timeout: 10_000 });
    await screenshot(page, 'export-html-notification');
    const html = readFileSync(out, 'utf8');
    assert.ok(html.includes('<img src="data:'), 'images are inlined as data: URLs');
    assert.ok(html.includes('<svg'), 'overlays are SVG');
    // Open it like the user would (file://) in a separate page: nothing but file: and data: may be requested.
    const ctx = await wb!.browser.newContext({ viewport: { width: 1200, height: 2000 } });
    try {
      const p = await ctx.newPage();
      const external: string[] = [];
      p.on('request', (r: Request) => {
        if (!/^(file|data|blob):/.test(r.url())) external.push(r.url());
      });
      await p.goto(`file://${out}`, { waitUntil: 'load', timeout: WAIT_MS });
      const info = await p.evaluate(() => ({
        imgs: [...document.images].filter((i) => i.src.startsWith('data:')).length,
        decoded: [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length,
        shapes: document.querySelectorAll('svg rect, svg polygon, svg circle, svg path').length,
      }));
      log(`export: ${JSON.stringify(info)}; external requests: ${external.length}`);
      assert.ok(info.imgs >= 7, `inline images in the HTML (got ${info.imgs})`);
      assert.equal(info.decoded, info.imgs, 'every inline image decodes');
      assert.ok(info.shapes >= 2, `SVG overlay shapes (got ${info.shapes})`);
      assert.deepEqual(external, [], 'the exported HTML made network requests');
      await p.screenshot({ path: join(RESULTS_DIR, 'export-html.png'), fullPage: false });
    } finally {
      await ctx.close();
    }
  }),
);

test('grounding on a spot image streams, then draws its box where the spot is; draw to ask sends the region to the model', { timeout: 150_000, skip: SKIP }, () =>
  scenario('grounding-draw', { expected: 2, cells: [1, 2] }, async (page) => {
    await openFile(page, 'spot.loupe');
    const ground = codeCell(page, 'the lamp');
    await ground.first().waitFor({ timeout: WAIT_MS });
    await runAll(page);
    assert.equal(await waitCellDone(page, ground.first(), 'the grounding cell', 90_000), 'success', 'grounding cell succeeded');
    const r = await waitFor('the spot output with one box', async () => {
      const x = await resultWithImage(page, 'spot.png');
      return x && (await x.result.getAttribute('data-status')) === 'ok' && (await x.result.locator('svg.loupe-svg rect.loupe-region').count()) === 1 ? x : undefined;
    });
    assert.match(((await r.result.locator('.loupe-answer:not(.loupe-image-answer)').first().textContent()) ?? '').trim(), /the lamp/, 'the answer echoes the phrase');
    const img = r.result.locator('figure img').first();
    await waitFor('spot.png decoded', () => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0));
    const ib = (await img.boundingBox())!;
    const bb = (await r.result.locator('svg.loupe-svg rect.loupe-region').first().boundingBox())!;
    const sx = ib.width / SPOT_SIZE.width;
    const sy = ib.height / SPOT_SIZE.height;
    const expected = { x: ib.x + SPOT_BOX[0] * sx, y: ib.y + SPOT_BOX[1] * sy, right: ib.x + SPOT_BOX[2] * sx, bottom: ib.y + SPOT_BOX[3] * sy };
    const tolX = ib.width / 24;
    const tolY = ib.height / 24;
    const got = { x: bb.x, y: bb.y, right: bb.x + bb.width, bottom: bb.y + bb.height };
    log(`grounding: image on screen ${JSON.stringify(ib)}; box on screen ${JSON.stringify(got)}; spot on screen ${JSON.stringify(expected)}; tolerance ${tolX.toFixed(1)}×${tolY.toFixed(1)} px`);
    // The stroke is 2 px wide (non-scaling) and straddles the edge: allow for it on top of one patch.
    for (const k of ['x', 'right'] as const) assert.ok(Math.abs(got[k] - expected[k]) <= tolX + 2, `box ${k} ${got[k].toFixed(1)} vs spot ${expected[k].toFixed(1)}`);
    for (const k of ['y', 'bottom'] as const) assert.ok(Math.abs(got[k] - expected[k]) <= tolY + 2, `box ${k} ${got[k].toFixed(1)} vs spot ${expected[k].toFixed(1)}`);
    await page.mouse.move(0, 0);
    await screenshot(page, 'grounding-spot');

    // Draw to ask: Shift+drag on the image, from image pixel (60, 40) to (240, 200).
    const from = [60, 40] as const;
    const to = [240, 200] as const;
    const at = (p: readonly [number, number]) => [ib.x + p[0] * sx, ib.y + p[1] * sy] as const;
    const [ax, ay] = at(from);
    const [bx, by] = at(to);
    await page.keyboard.down('Shift');
    await page.mouse.move(ax, ay);
    await page.mouse.down();
    await page.mouse.move((ax + bx) / 2, (ay + by) / 2, { steps: 4 });
    await page.mouse.move(bx, by, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    const drawn = codeCell(page, '@region');
    await drawn.first().waitFor({ state: 'visible', timeout: 15_000 });
    const src = await cellText(drawn.first());
    log(`draw to ask: new cell:\n${src}`);
    assert.match(src, /^@image spot\.png$/m, 'the new cell names the image');
    const m = /^@region \[(\d+), (\d+), (\d+), (\d+)\]$/m.exec(src);
    assert.ok(m, `the new cell has an @region line of integers: ${src}`);
    const box = m.slice(1).map(Number);
    const want = [...from, ...to];
    box.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 3, `@region[${i}] = ${v}, dragged ${want[i]} (±3 px)`));
    // The new cell sits right below the grounding cell.
    const rows = await activeNotebook(page).locator('.monaco-list-row.code-cell-row').allInnerTexts();
    assert.equal(rows.length, 2, 'one new cell');
    assert.ok(rows[1]!.includes('@region'), 'the new cell is below the one drawn on');
    await screenshot(page, 'draw-to-ask-cell');
    // Ask about it: the cursor is on the empty prompt line; make it a describe-region and run it.
    await drawn.first().locator('.cell-editor-container .view-lines').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('@task describe-region');
    await runCell(page, drawn.first());
    const state = await waitCellDone(page, drawn.first(), 'the describe-region cell', 60_000);
    assert.equal(state, 'success', 'describe-region cell succeeded');
    await page.keyboard.press('Escape');
    // Save until the file holds the finished answer (a save can race the last output update).
    type Saved = { cells: { source: string; outputs: { items: { mime: string; json?: { status?: string; runs?: { raw?: string }[] } }[] }[] }[] };
    const result = await waitFor('spot.loupe saved with the finished describe-region answer', async () => {
      await runCommand(page, 'File: Save');
      const saved = JSON.parse(readFileSync(join(workspace, 'spot.loupe'), 'utf8')) as Saved;
      const cell = saved.cells.find((c) => c.source.includes('@region'));
      const r = cell?.outputs.flatMap((o) => o.items).find((i) => i.mime === 'application/vnd.loupe.result+json')?.json;
      return r?.status === 'ok' && r.runs?.[0]?.raw ? r.runs[0] : undefined;
    }, 30_000, 1000);
    assert.ok(result, 'the saved cell has a Loupe result');
    log(`draw to ask: model raw output: ${result.raw}`);
    const locs = [...(result.raw ?? '').matchAll(/<loc_(\d+)>/g)].map((x) => Number(x[1]));
    assert.equal(locs.length, 4, `the fixture echoed the 4 region tokens it received: ${result.raw}`);
    const bins = box.map((v, i) => (v / (i % 2 === 0 ? SPOT_SIZE.width : SPOT_SIZE.height)) * 1000);
    locs.forEach((l, i) => assert.ok(Math.abs(l - bins[i]!) <= 3, `region token ${i} <loc_${l}> vs ${bins[i]!.toFixed(1)} (box ${box.join(',')})`));
    await page.mouse.move(0, 0);
    await screenshot(page, 'draw-to-ask-answer');
  }),
);

test('a video cell shows its filmstrip; grounding across frames boxes the spot on every frame; the keyboard walks the frames', { timeout: 180_000, skip: SKIP }, () =>
  scenario('video-grounding', { expected: 1, cells: [2] }, async (page) => {
    await closeAllEditors(page);
    await openFile(page, 'video.loupe');
    const ground = codeCell(page, 'the spot');
    await ground.first().waitFor({ timeout: WAIT_MS });
    await runAll(page);
    assert.equal(await waitCellDone(page, ground.first(), 'the grounding-across-frames cell', 120_000), 'success');
    assert.equal(await cellState(activeNotebook(page).locator('.monaco-list-row.code-cell-row').first()), 'success', 'the video cell succeeded');
    // Both outputs are video views; the grounding one has a box on each of its 6 frames.
    const views = await waitFor('two filmstrips of 6 frames, one with 6 boxes', async () => {
      for (const frame of await rendererFrames(page)) {
        const v = await frame.$$eval('.loupe-video', (roots) =>
          roots.map((r) => ({
            status: (r as HTMLElement).dataset.status,
            thumbs: r.querySelectorAll('.loupe-thumb').length,
            times: [...r.querySelectorAll('.loupe-thumb-time')].map((t) => t.textContent),
            boxedThumbs: [...r.querySelectorAll('.loupe-thumb')].filter((t) => t.querySelector('svg rect.loupe-region')).length,
            found: r.querySelectorAll('.loupe-tick.is-found').length,
            ticks: r.querySelectorAll('.loupe-tick').length,
            facts: r.querySelector('.loupe-clip-facts')?.textContent ?? '',
            answers: [...r.querySelectorAll('.loupe-frame-answers li')].map((li) => li.textContent),
          })),
        );
        if (v.length === 2 && v.every((x) => x.status === 'ok' && x.thumbs === 6) && v[1]!.boxedThumbs === 6) return { frame, v };
      }
      return undefined;
    }, 30_000);
    log(`video: ${JSON.stringify(views.v)}`);
    const [cell1, cell2] = views.v;
    assert.match(cell1!.facts, /^spot\.mp4: 0:02, 12 fps, 480×270, h264, 6 frames, uniform$/);
    // Uniform samples at the centres of 6 segments of 2 s (1/6, 1/2, 5/6 … s): frames 2, 6, 10 … of the 12 fps clip.
    assert.deepEqual(cell1!.times, ['0:00.17', '0:00.50', '0:00.83', '0:01.17', '0:01.50', '0:01.83'], 'each frame with its own time');
    assert.equal(cell1!.boxedThumbs, 0, 'a video cell has no regions');
    assert.deepEqual([cell2!.ticks, cell2!.found], [6, 6], 'the timeline marks every frame where the spot was found');
    assert.ok(cell2!.answers.every((a) => /^\d:\d\d\.\d\dthe spot$/.test(a ?? '')), `answers with their times: ${cell2!.answers}`);
    // The large frame's box lands on that frame's spot, on screen.
    const root = views.frame.locator('.loupe-video').nth(1);
    const checkLarge = async () => {
      const index = Number(await root.locator('.loupe-frame-large .loupe-figure').getAttribute('data-index'));
      const time = Number(/(\d+):(\d+\.\d+)/.exec((await root.locator('.loupe-thumb').nth(index - 1).locator('.loupe-thumb-time').textContent()) ?? '')!.slice(1).reduce((a, v) => a * 60 + Number(v), 0));
      // The time shown is the frame's own (k / fps), to the hundredth.
      const k = Math.round(time * VIDEO_CLIP.fps);
      const ib = (await root.locator('.loupe-frame-large img').boundingBox())!;
      const bb = (await root.locator('.loupe-frame-large svg.loupe-svg rect.loupe-region').boundingBox())!;
      const sx = ib.width / CLIP_SPOT.width;
      const [x1, , x2] = spotBox(k);
      const tol = ib.width / 24 + 2;
      log(`video: large frame ${index} at ${time} s (frame ${k}): box x ${bb.x.toFixed(0)}–${(bb.x + bb.width).toFixed(0)}, spot x ${(ib.x + x1 * sx).toFixed(0)}–${(ib.x + x2 * sx).toFixed(0)}`);
      assert.ok(Math.abs(bb.x - (ib.x + x1 * sx)) <= tol && Math.abs(bb.x + bb.width - (ib.x + x2 * sx)) <= tol, 'the box is on the spot');
      return bb.x - ib.x;
    };
    await root.scrollIntoViewIfNeeded();
    const x0 = await checkLarge();
    await root.locator('.loupe-thumb[aria-selected="true"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await waitFor('frame 3 large', async () => (await root.locator('.loupe-frame-large .loupe-figure').getAttribute('data-index')) === '3', 5000);
    const x2 = await checkLarge();
    assert.ok(x2 > x0, 'the box moved right with the spot');
    await page.mouse.move(0, 0);
    await screenshot(page, 'video-grounding');
    await closeAllEditors(page);
  }),
);

test('a screen cell lists its elements (table and overlay synced both ways, keyboard too) and another finds one', { timeout: 150_000, skip: SKIP }, () =>
  scenario('screens', { expected: 2, cells: [1, 2] }, async (page) => {
    await closeAllEditors(page);
    // Both cells and their outputs in view: VS Code renders only cells near the viewport.
    await page.setViewportSize(TALL);
    try {
      await openFile(page, 'screen.loupe');
      const list = codeCell(page, '@task list-elements');
      const find = codeCell(page, 'the Sign in button');
      await list.first().waitFor({ timeout: WAIT_MS });
      await runAll(page);
      assert.equal(await waitCellDone(page, list.first(), 'the list-elements cell', 90_000), 'success');
      assert.equal(await waitCellDone(page, find.first(), 'the find-element cell', 90_000), 'success');
      // The element list: a table row per element, a box per row, on the detector's output.
      const found = await waitFor('the element table', async () => {
        for (const frame of await rendererFrames(page)) {
          const result = frame.locator('.loupe-result', { has: frame.locator('.loupe-elements:not([hidden]) tbody tr') });
          if ((await result.count()) > 0 && (await result.first().getAttribute('data-status')) === 'ok') return { frame, result: result.first() };
        }
        return undefined;
      });
      const { result } = found;
      await result.scrollIntoViewIfNeeded();
      const rows = result.locator('.loupe-elements tbody tr');
      const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent)));
      log(`screens: elements ${JSON.stringify(cells)}`);
      assert.equal(cells.length, SCREEN_BUTTONS.length + 1, 'three detected buttons and one OCR text line');
      assert.deepEqual(cells.map((c) => c[0]).sort(), ['button', 'icon', 'icon', 'text']);
      for (const b of SCREEN_BUTTONS) assert.ok(cells.some((c) => c[2] === `[${b.box.join(', ')}]`), `a row with the box ${b.box} (rows: ${JSON.stringify(cells)})`);
      assert.equal(await result.locator('svg.loupe-svg rect.loupe-region').count(), cells.length, 'one box on the image per row');
      // Row → box: hovering a row lights its box.
      const second = rows.nth(1);
      const id = await second.getAttribute('data-region');
      await second.hover();
      await waitFor('the hovered row\'s box lit', async () => (await result.locator(`svg .loupe-region[data-region="${id}"].is-hot`).count()) === 1, 5000);
      // Box → row: clicking the first row's box on the image selects that row.
      const firstId = await rows.first().getAttribute('data-region');
      const shape = result.locator(`svg .loupe-region[data-region="${firstId}"]`);
      const bb = (await shape.boundingBox())!;
      await page.mouse.click(bb.x + 2, bb.y + bb.height / 2);
      await waitFor('the clicked box\'s row selected', async () => (await rows.first().getAttribute('aria-selected')) === 'true', 5000);
      // Keyboard: from a row, arrows and Enter select another element and its box.
      // The keys go to the rows themselves: after the click on the image the workbench may take focus back from the
      // webview at any moment (real key presses on the table are in test/renderer/screens.test.ts).
      await rows.first().focus();
      await rows.first().dispatchEvent('keydown', { key: 'ArrowDown', bubbles: true });
      await waitFor('ArrowDown moves to the second row', async () => (await found.frame.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.region)) === id, 5000);
      await rows.nth(1).dispatchEvent('keydown', { key: 'Enter', bubbles: true });
      await waitFor('Enter on the second row selects its box', async () => (await result.locator(`svg .loupe-region[data-region="${id}"].is-selected`).count()) === 1, 5000);
      // The find-element cell: one box on the same screen.
      const findResult = await waitFor('the find-element output with one box', async () => {
        for (const frame of await rendererFrames(page)) {
          const r = frame.locator('.loupe-result', { has: frame.locator('figure img[alt*="screen-e2e.png"]') }).filter({ hasNot: frame.locator('.loupe-elements:not([hidden])') });
          if ((await r.count()) > 0 && (await r.first().locator('svg rect.loupe-region').count()) === 1) return r.first();
        }
        return undefined;
      });
      assert.match((await findResult.locator('.loupe-answer:not(.loupe-image-answer)').first().textContent()) ?? '', /the Sign in button/);
      await page.mouse.move(0, 0);
      await page.setViewportSize({ width: NORMAL.width, height: 2200 });
      await screenshot(page, 'screens');
    } finally {
      await page.setViewportSize(NORMAL);
    }
  }),
);

test('side by side: a local fixture model and a vLLM-shaped server answer one cell in two columns, each with its box in its colour; a workspace\'s engines are ignored', { timeout: 150_000, skip: SKIP }, () =>
  scenario('side-by-side', { expected: 1, cells: [1] }, async (page) => {
    await closeAllEditors(page);
    await openFile(page, 'side.loupe');
    const cell = codeCell(page, 'gpu:Qwen').first();
    await cell.waitFor({ timeout: WAIT_MS });
    await runAll(page);
    assert.equal(await waitCellDone(page, cell, 'the side-by-side cell', 90_000), 'success', 'both models answered');
    const r = await waitFor('two columns, each with its box, and a legend', async () => {
      const x = await resultWithImage(page, 'side.png');
      if (!x || (await x.result.getAttribute('data-status')) !== 'ok') return undefined;
      const cols = await x.result.locator('.loupe-column').count();
      const m0 = await x.result.locator('svg.loupe-svg .loupe-region.loupe-m0').count();
      const m1 = await x.result.locator('svg.loupe-svg .loupe-region.loupe-m1').count();
      return cols === 2 && m0 === 1 && m1 === 1 ? x : undefined;
    });
    const heads = await r.result.locator('.loupe-column-head strong').allTextContents();
    log(`side by side: columns ${JSON.stringify(heads)}`);
    assert.match(heads[0]!, /^(tiny-florence2|florence-2-base)/);
    assert.match(heads[1]!, /^gpu:Qwen\/Qwen2-VL-2B-Instruct \(vLLM\)/);
    const answers = await r.result.locator('.loupe-column .loupe-run-answer').allTextContents();
    assert.equal(answers.length, 2, 'an answer in each column');
    assert.deepEqual(await r.result.locator('.loupe-legend-item').allTextContents(), [heads[0], heads[1]]);
    // Each box lands on the spot, drawn in its model's colour.
    const img = r.result.locator('figure img').first();
    await waitFor('side.png decoded', () => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0));
    const ib = (await img.boundingBox())!;
    const sx = ib.width / SPOT_SIZE.width;
    const sy = ib.height / SPOT_SIZE.height;
    const strokes: string[] = [];
    for (const m of [0, 1]) {
      const shape = r.result.locator(`svg.loupe-svg .loupe-region.loupe-m${m}`).first();
      const bb = (await shape.boundingBox())!;
      strokes.push(await shape.evaluate((e) => getComputedStyle(e).stroke));
      const got = [bb.x, bb.y, bb.x + bb.width, bb.y + bb.height];
      const want = [ib.x + SPOT_BOX[0] * sx, ib.y + SPOT_BOX[1] * sy, ib.x + SPOT_BOX[2] * sx, ib.y + SPOT_BOX[3] * sy];
      log(`side by side: model ${m} box on screen ${got.map((v) => v.toFixed(0))}, spot ${want.map((v) => v.toFixed(0))}`);
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= (i % 2 ? ib.height : ib.width) / 24 + 2, `model ${m} edge ${i}: ${v.toFixed(1)} vs ${want[i]!.toFixed(1)}`));
    }
    assert.notEqual(strokes[0], strokes[1], `each model its own colour (${strokes.join(' vs ')})`);
    // The legend hides the server model's box and shows it again.
    await r.result.locator('.loupe-legend-item[data-model="1"]').click();
    await waitFor('model 2 hidden', async () => (await r.result.locator('.loupe-region.loupe-m1').first().evaluate((e) => getComputedStyle(e).display)) === 'none');
    assert.notEqual(await r.result.locator('.loupe-region.loupe-m0').first().evaluate((e) => getComputedStyle(e).display), 'none');
    await screenshot(page, 'side-by-side-toggled');
    await r.result.locator('.loupe-legend-item[data-model="1"]').click();
    await page.mouse.move(0, 0);
    await screenshot(page, 'side-by-side');
    assert.equal(gpu!.requests.length, 1, 'the user-settings server answered once');
    assert.equal(trap!.requests.length, 0, 'the workspace\'s server got nothing');
    // The saved notebook keeps both runs with their models.
    type Saved = { cells: { outputs: { items: { mime: string; json?: { runs?: { modelIndex?: number; model?: { id: string; engine?: string } }[] } }[] }[] }[] };
    const runs = await waitFor('side.loupe saved with both runs', async () => {
      await runCommand(page, 'File: Save');
      const saved = JSON.parse(readFileSync(join(workspace, 'side.loupe'), 'utf8')) as Saved;
      const res = saved.cells[0]?.outputs.flatMap((o) => o.items).find((i) => i.mime === 'application/vnd.loupe.result+json')?.json;
      return res?.runs?.length === 2 ? res.runs : undefined;
    }, 30_000, 1000);
    assert.deepEqual(runs.map((x) => [x.modelIndex, x.model?.engine]), [[0, 'local'], [1, 'gpu']]);
    await closeAllEditors(page);
  }),
);

test('a 20-image batch: progress in the cell, cancel keeps what is done, running again resumes, Export Session → COCO writes every row', { timeout: 240_000, skip: SKIP }, () =>
  scenario('batch', undefined, async (page) => {
    await closeAllEditors(page);
    await openFile(page, 'batch.loupe');
    const cell = codeCell(page, '@images batch').first();
    await cell.waitFor({ timeout: WAIT_MS });
    const state = async () => {
      const b = await batchView(page);
      if (!b) return undefined;
      return { b, state: await b.view.getAttribute('data-state'), done: Number(await b.view.locator('progress').getAttribute('value')), text: (await b.view.locator('.loupe-batch-status').textContent()) ?? '' };
    };
    await runAll(page);
    const running = await waitFor('the batch to be under way', async () => {
      const s = await state();
      return s?.state === 'running' && s.done >= 3 ? s : undefined;
    }, 90_000, 100);
    log(`batch: ${running.text}`);
    assert.match(running.text, /^Batch running: \d+ of 20 done · [\d.]+ images\/s · about .* left · 0 errors — @images batch\/\*\.png$/);
    await screenshot(page, 'batch-running');
    const interrupt = activeNotebook(page).locator('.notebook-toolbar-container .action-label', { hasText: /^Interrupt$/ });
    if (await interrupt.first().isVisible()) await interrupt.first().click();
    else await runCommand(page, 'Notebook: Interrupt');
    const cancelled = await waitFor('the batch to stop', async () => {
      const s = await state();
      return s?.state === 'cancelled' ? s : undefined;
    }, 20_000, 100);
    log(`batch cancelled: ${cancelled.text}`);
    assert.ok(cancelled.done >= 3 && cancelled.done < 20, `cancelled mid-way at ${cancelled.done}`);
    assert.match((await cancelled.b.view.locator('.loupe-error').textContent()) ?? '', /Cancelled: \d+ of 20 done, kept in batch\.loupe\.runs\/batch-[0-9a-f]{16}\.jsonl\. Run the cell again to resume\./);
    const runs = join(workspace, 'batch.loupe.runs');
    const sidecarRows = () => readdirSync(runs).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(join(runs, f), 'utf8').split('\n').filter(Boolean));
    assert.equal(sidecarRows().length, cancelled.done, 'every finished image is on disk');
    // Again: the finished images are skipped, the rest run.
    await runAll(page);
    const done = await waitFor('the batch to finish', async () => {
      const s = await state();
      return s?.state === 'done' ? s : undefined;
    }, 120_000, 200);
    log(`batch resumed: ${done.text}`);
    assert.equal(done.text, `Batch finished: 20 of 20 done · 0 errors · ${cancelled.done} from an earlier run — @images batch/*.png`);
    assert.equal(sidecarRows().length, 20, 'each image once');
    assert.equal(await done.b.view.locator('.loupe-batch-table tbody tr').count(), 20);
    assert.equal(await done.b.view.locator('.loupe-batch-table img').count(), 20, 'thumbnails');
    // Scored against the truth: every box is a hit.
    const score = await done.b.view.locator('.loupe-batch-score tbody td').allTextContents();
    log(`batch score: ${score.join(' | ')}`);
    assert.deepEqual(score.slice(1, 5), ['20', '20', '20', '100.0%']);
    await page.mouse.move(0, 0);
    await screenshot(page, 'batch');
    // Export Session → COCO: the save dialog names a folder, and every row's box is there, in image pixels.
    const outDir = join(workspace, 'batch.coco');
    rmSync(outDir, { recursive: true, force: true });
    await runCommand(page, 'Loupe: Export Session…');
    const pick = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'COCO annotations' });
    await pick.first().waitFor({ state: 'visible', timeout: WAIT_MS });
    await pick.first().click();
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await waitFor('the save dialog to suggest batch.coco', async () => (await input.isVisible()) && /batch\.coco$/.test(await input.inputValue()), 20_000);
    await page.keyboard.press('Enter');
    const file = join(outDir, 'annotations.coco.json');
    await waitFor('annotations.coco.json written', () => existsSync(file), 30_000);
    const coco = JSON.parse(readFileSync(file, 'utf8')) as { images: { id: number; file_name: string; width: number; height: number }[]; annotations: { image_id: number; bbox: number[] }[] };
    assert.equal(coco.images.length, 20);
    assert.equal(coco.annotations.length, 20);
    for (const im of coco.images) {
      const i = Number(/spot-(\d+)\.png$/.exec(im.file_name)![1]);
      const want = batchSpot(i);
      assert.deepEqual([im.width, im.height], [want.width, want.height]);
      const [x, y, w, h] = coco.annotations.find((a) => a.image_id === im.id)!.bbox as [number, number, number, number];
      const got = [x, y, x + w, y + h];
      got.forEach((v, k) => assert.ok(Math.abs(v - want.box[k]!) <= (k % 2 ? want.height : want.width) / 24 + 2, `${im.file_name} edge ${k}: ${v} vs ${want.box[k]}`));
    }
    await page.locator('.notifications-toasts', { hasText: /wrote \d+ files? for 1 batch/ }).first().waitFor({ state: 'visible', timeout: 10_000 });
    await closeAllEditors(page);
  }),
);

test('interrupting a streaming cell stops it; the next run works', { timeout: 150_000, skip: SKIP }, () =>
  scenario('interrupt', { expected: 2, cells: [1, 2] }, async (page) => {
    await openFile(page, 'long.loupe');
    const long = codeCell(page, 'max_new_tokens=4000').first();
    const short = codeCell(page, '@task caption').first();
    await long.waitFor({ timeout: WAIT_MS });
    await runCell(page, long);
    // Streaming: the output shows data-status="running" with an answer that grows, before the cell ends.
    const lengths: number[] = [];
    await waitFor('the long answer to stream', async () => {
      const state = await cellState(long);
      const x = await resultWithImage(page, 'long.png');
      const status = x ? await x.result.getAttribute('data-status') : undefined;
      const n = x ? ((await x.result.locator('.loupe-answer:not(.loupe-image-answer)').first().textContent()) ?? '').length : -1;
      if (state !== 'executing' || status !== 'running') return undefined;
      if (n > 0 && n !== lengths.at(-1)) lengths.push(n);
      return lengths.length >= 2 ? lengths : undefined;
    }, 60_000, 100);
    log(`interrupt: answer grew ${lengths.join(' → ')} chars while running`);
    assert.ok(lengths.every((n, i) => i === 0 || n > lengths[i - 1]!), 'the streamed answer only grows');
    await screenshot(page, 'interrupt-running');
    const t = Date.now();
    // The notebook toolbar's Interrupt (= "Notebook: Interrupt", notebook.interruptExecution): one click, no palette.
    const interrupt = activeNotebook(page).locator('.notebook-toolbar-container .action-label', { hasText: /^Interrupt$/ });
    if (await interrupt.first().isVisible()) await interrupt.first().click();
    else await runCommand(page, 'Notebook: Interrupt');
    const state = await waitFor('the long cell to stop', async () => {
      const s = await cellState(long);
      return s !== 'executing' && s !== 'pending' ? s : undefined;
    }, 10_000, 100);
    const stopMs = Date.now() - t;
    log(`interrupt: stopped in ${stopMs} ms, mark: ${state}`);
    assert.ok(stopMs <= 5000, `the cell stopped within 5 s (took ${stopMs} ms)`);
    assert.notEqual(state, 'success', 'an interrupted cell is not marked successful');
    const r = await waitFor('the interrupted output', async () => {
      const x = await resultWithImage(page, 'long.png');
      return x && (await x.result.getAttribute('data-status')) !== 'running' ? x : undefined;
    }, 10_000);
    const shown = await r.result.innerText();
    assert.match(shown, /Interrupted/, 'the output says it was interrupted');
    // It does not keep generating: the answer stays the same.
    const a1 = await r.result.locator('.loupe-answer:not(.loupe-image-answer)').first().textContent();
    await sleep(1500);
    assert.equal(await r.result.locator('.loupe-answer:not(.loupe-image-answer)').first().textContent(), a1, 'the answer kept growing after the interrupt');
    await screenshot(page, 'interrupt-stopped');
    // The long answer pushes the next cell out of view (notebook rows are virtualized): clear it first.
    await runCommand(page, 'Notebook: Clear All Outputs');
    await runCell(page, short);
    const s2 = await waitCellDone(page, short, 'the cell after the interrupt', 60_000);
    assert.equal(s2, 'success', 'the next run succeeds');
    const res = await renderedResults(page);
    assert.ok(res.some((x) => x.status === 'ok' && /A tiny fixture image\./.test(x.answer)), 'the caption answer after the interrupt');
    await page.mouse.move(0, 0);
    await screenshot(page, 'interrupt-next-run');
  }),
);

test('bad images (truncated JPEG, PNG declaring 30000×30000) give clear messages; the workbench stays responsive', { timeout: 120_000, skip: SKIP }, () =>
  scenario('bad-images', { expected: 1, cells: [3] }, async (page) => {
    await openFile(page, 'bad-images.loupe');
    await codeCell(page, '@image broken.jpg').first().waitFor({ timeout: WAIT_MS });
    await runAll(page);
    const nb = activeNotebook(page);
    await waitFor('the 3 cells to finish', async () => {
      await pickKernelIfAsked(page);
      // Only the cells' own marks: the toolbar's "Go To" (failed cell) button uses the same error icon.
      return (await nb.locator('.code-cell-row .codicon-notebook-state-success, .code-cell-row .codicon-notebook-state-error').count()) === 3;
    }, 60_000);
    const text = await waitFor('the messages', async () => {
      const t = await allFrameText(page);
      return /broken\.jpg is corrupt or truncated/.test(t) && (t.match(/30000×30000 pixels[^\n]*above the limit/g) ?? []).length >= 2 ? t : undefined;
    }, 20_000).catch(async (e) => {
      log(`bad images: frames say:\n${(await allFrameText(page)).slice(0, 3000)}`);
      throw e;
    });
    for (const line of text.split('\n').filter((l) => /broken\.jpg|huge\.png/.test(l))) log(`bad images: ${line.trim().slice(0, 200)}`);
    for (const label of ['broken.jpg', 'huge.png']) assert.equal(await cellState(codeCell(page, `@image ${label}`).first()), 'error', `${label}: cell marked failed`);
    const ms = await workbenchResponds(page, 5000);
    log(`bad images: command palette round trip ${ms} ms`);
    await page.mouse.move(0, 0);
    await screenshot(page, 'bad-images');
  }),
);

test('Explorer → right-click an image → Ask About Image opens a notebook with that image', { timeout: 90_000, skip: SKIP }, () =>
  scenario('ask-about-image', undefined, async (page) => {
    await closeAllEditors(page);
    const explorer = page.locator('.explorer-folders-view');
    const folder = explorer.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^images$/ }) }).first();
    if ((await folder.getAttribute('aria-expanded')) !== 'true') await folder.click();
    const file = explorer.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^chelsea\.png$/ }) }).first();
    await file.waitFor({ state: 'visible', timeout: WAIT_MS });
    await file.click({ button: 'right' });
    const item = page.locator('.context-view .monaco-menu .action-label', { hasText: /^Ask About Image$/ });
    await item.first().waitFor({ state: 'visible', timeout: 10_000 });
    await screenshot(page, 'ask-about-image-menu');
    await item.first().click();
    // A click that lands while the menu is still settling leaves it open (seen on this 2-core machine): the item is
    // then highlighted, and Enter runs it.
    const menu = page.locator('.context-view .monaco-menu');
    if (!(await menu.waitFor({ state: 'hidden', timeout: 3000 }).then(() => true, () => false))) {
      log('ask about image: the menu stayed open after the click; pressing Enter on the item');
      await item.first().hover();
      await page.keyboard.press('Enter');
      await menu.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    }
    const cell = codeCell(page, /@image\s.*chelsea\.png/);
    await cell.first().waitFor({ state: 'visible', timeout: 20_000 });
    const texts = await Promise.all((await activeNotebook(page).locator('.monaco-list-row.code-cell-row').all()).map(cellText));
    log(`ask about image: cells ${JSON.stringify(texts)}`);
    assert.ok(texts.some((t) => /^@image .*images\/chelsea\.png$/m.test(t)), 'a cell with @image …images/chelsea.png');
    await page.locator('.tabs-container .tab.active').waitFor({ timeout: 5000 });
    await screenshot(page, 'ask-about-image');
    await closeAllEditors(page);
  }),
);

test('the file changes on disk while a cell streams: the edit made on disk and the results both end up in the file', { timeout: 120_000, skip: SKIP }, () =>
  scenario('merge', undefined, async (page) => {
    await closeAllEditors(page);
    const file = join(workspace, 'merge.loupe');
    await openFile(page, 'merge.loupe');
    await activeNotebook(page).locator('.monaco-list-row.code-cell-row').first().waitFor({ timeout: WAIT_MS });
    await runAll(page);
    await waitFor('the first cell to stream', async () => (await renderedResults(page)).some((r) => r.status === 'running' && r.answer.length > 20), WAIT_MS, 100);
    // Another tool saves the file meanwhile: a heading added on top.
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as { cells: { kind: string; language: string; source: string; metadata: object; outputs: unknown[] }[] };
    onDisk.cells.unshift({ kind: 'markdown', language: 'markdown', source: '## Added on disk', metadata: {}, outputs: [] });
    writeFileSync(`${file}.tmp`, JSON.stringify(onDisk, null, 2));
    renameSync(`${file}.tmp`, file);
    type Saved = { cells: { source: string; outputs: { items: { mime: string; json?: { status?: string } }[] }[] }[] };
    const status = (c: Saved['cells'][number] | undefined) => c?.outputs.flatMap((o) => o.items).find((i) => i.mime === 'application/vnd.loupe.result+json')?.json?.status;
    // No save by hand: once the cells finish, Loupe merges the results into the file as it is on disk.
    await waitFor('the file to hold the heading and both results', () => {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
      return saved.cells[0]?.source === '## Added on disk' && status(saved.cells[1]) === 'ok' && status(saved.cells[2]) === 'ok';
    }, 90_000, 500);
    // The editor reloaded the merged file: the heading (a markdown cell, rendered in the webview) is there, nothing unsaved.
    await waitFor('the editor to show the heading, with nothing unsaved', async () => (await activeNotebook(page).locator('.monaco-list-row.markdown-cell-row').count()) === 1 && (await page.locator('.tabs-container .tab.dirty', { hasText: 'merge.loupe' }).count()) === 0, 20_000);
    await screenshot(page, 'merge');
    await closeAllEditors(page);
  }),
);

test('a malformed .loupe file shows the parse error and is left unchanged', { timeout: 120_000, skip: SKIP }, () =>
  scenario('malformed', undefined, async (page) => {
    const file = join(workspace, 'bad.loupe');
    const before = readFileSync(file);
    await openFileFromExplorer(page, 'bad.loupe');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
    const text = await dialog.innerText();
    assert.match(text, /bad\.loupe/);
    assert.match(text, /:1:\d+: invalid JSON/, 'the dialog shows the serializer message with line and column');
    await screenshot(page, 'malformed-error');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
    await waitFor('the bad.loupe tab to close', async () => (await page.locator('.tabs-container .tab', { hasText: 'bad.loupe' }).count()) === 0, WAIT_MS);
    await openFile(page, 'bad.loupe');
    const placeholder = page.locator('.editor-group-container.active .monaco-editor-pane-placeholder');
    await placeholder.waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await placeholder.innerText(), /could not be opened/);
    await screenshot(page, 'malformed-placeholder');
    await sleep(500);
    assert.deepEqual(readFileSync(file), before, 'bad.loupe changed on disk');
  }),
);

// The goal: the extension host's event loop is never blocked more than 50 ms while a cell generates. Each prompt cell
// logs monitorEventLoopDelay's worst interval (1 ms resolution) and, since the harness asks for it, what the loop's
// thread did meanwhile (/proc/thread-self/schedstat): the most CPU it used within one tick (the host's own work), and
// for the worst tick the time on a CPU, the time runnable but waiting for one, and the rest (asleep). On this 2-core
// machine Chromium (software rendering), code-server, the model host and this runner share the cores: single raw
// figures of 50–100 ms show up in some runs, and they are the thread waiting for a CPU, or a GC pause whose helper
// threads wait for one (a 26 ms scavenge with 1 ms of CPU on the loop's thread was seen). So: the host's own work is
// held to the goal in every cell; the raw figures are reported, their median held to the goal, and none may come near
// an in-process inference stall (~700 ms).
test(`the extension host's event loop is never held more than ${EVENT_LOOP_LIMIT_MS} ms by the host while prompt cells generate (raw stalls reported)`, { timeout: 30_000, skip: SKIP }, () => {
  assert.ok(wb, 'workbench did not start');
  const lines = eventLoopLines(wb.userDataDir);
  const figures = promptRuns.flatMap((run) =>
    lines.slice(run.fromLine, run.toLine).map((l) => ({
      scenario: run.scenario,
      cell: l.cell,
      prompt: run.cells.includes(l.cell),
      maxDelayMs: l.maxMs,
      p99Ms: l.p99Ms,
      ownCpuMaxMs: l.ownCpuMaxMs,
      worstTickMs: l.worstTickMs,
      worstTickCpuMs: l.worstTickCpuMs,
      worstTickRunQueueMs: l.worstTickRunQueueMs,
    })),
  );
  writeFileSync(join(RESULTS_DIR, 'event-loop.json'), JSON.stringify({ limitMs: EVENT_LOOP_LIMIT_MS, resolutionMs: 1, figures }, null, 2) + '\n');
  const split = (f: (typeof figures)[number]) =>
    f.worstTickMs === undefined ? '' : `worst tick ${f.worstTickMs} ms: ${f.worstTickCpuMs} on a CPU, ${f.worstTickRunQueueMs} waiting for one, ${Math.max(0, f.worstTickMs - f.worstTickCpuMs! - f.worstTickRunQueueMs!).toFixed(1)} asleep`;
  for (const f of figures) {
    log(`event loop: ${f.scenario} cell ${f.cell}${f.prompt ? ' (prompt)' : ' (image)'}: max ${f.maxDelayMs} ms, p99 ${f.p99Ms} ms${f.ownCpuMaxMs === undefined ? '' : `; own work ≤ ${f.ownCpuMaxMs} ms per tick; ${split(f)}`}`);
  }
  const prompt = figures.filter((f) => f.prompt);
  assert.ok(prompt.length >= 6, `event-loop figures logged for the prompt cells (got ${prompt.length}; log lines: ${lines.length})`);
  const maxima = prompt.map((f) => f.maxDelayMs).sort((a, b) => a - b);
  const median = maxima[Math.floor(maxima.length / 2)]!;
  const over = prompt.filter((f) => f.maxDelayMs > EVENT_LOOP_LIMIT_MS);
  log(`event loop: raw median of the prompt cells' worst stalls ${median} ms; raw over ${EVENT_LOOP_LIMIT_MS} ms: ${over.length ? over.map((f) => `${f.scenario} cell ${f.cell} ${f.maxDelayMs} ms (${split(f)})`).join(', ') : 'none'}`);
  if (process.platform === 'linux') {
    for (const f of prompt) {
      assert.ok(f.ownCpuMaxMs !== undefined, `${f.scenario} cell ${f.cell}: no attribution in the log line`);
      assert.ok(f.ownCpuMaxMs <= EVENT_LOOP_LIMIT_MS, `${f.scenario} cell ${f.cell}: the extension host held its event loop with ${f.ownCpuMaxMs} ms of work (> ${EVENT_LOOP_LIMIT_MS})`);
    }
    log(`event loop: the host's own work, worst tick over all prompt cells: ${Math.max(...prompt.map((f) => f.ownCpuMaxMs!))} ms`);
  }
  assert.ok(median <= EVENT_LOOP_LIMIT_MS, `raw median worst stall ${median} ms > ${EVENT_LOOP_LIMIT_MS} ms`);
  for (const f of prompt) assert.ok(f.maxDelayMs < EVENT_LOOP_HARD_MS, `${f.scenario} cell ${f.cell}: event loop stalled ${f.maxDelayMs} ms (≥ ${EVENT_LOOP_HARD_MS})`);
});

