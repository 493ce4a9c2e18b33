// The video view in real Chromium: clip facts, the timeline marking frames where regions were found, the filmstrip
// (keyboard navigable, its frames' overlays), the selected frame large with zoom and its overlay, answers with times.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { RESULT_VERSION, type LoupeResult, type ResultImage } from '../../src/common/result';
import { spotPng } from '../helpers/spot';
import { ROOT, startHarness, type Harness } from './support';

const SHOTS = join(ROOT, 'test-results', 'renderer');
let harness: Harness | undefined;
let page: Page;
const BOXES: [number, number, number, number][] = [[20, 100, 80, 160], [180, 100, 240, 160], [340, 100, 400, 160], [420, 100, 480, 160]];
let result: LoupeResult;

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  const images: ResultImage[] = await Promise.all(
    BOXES.map(async (b, i) => ({ index: i + 1, source: `clip.mp4 @ 0:0${2 * i + 1}.00`, width: 480, height: 270, display: { mime: 'image/png' as const, data: (await spotPng(480, 270, b)).toString('base64'), width: 480, height: 270 }, time: 2 * i + 1, video: 1 })),
  );
  // Ground on four frames: the spot is found on frames 1, 3 and 4.
  const found = [true, false, true, true];
  result = {
    version: RESULT_VERSION,
    kind: 'prompt',
    status: 'ok',
    task: 'ground',
    images,
    videos: [{ index: 1, source: 'clip.mp4', duration: 8, fps: 25, width: 480, height: 270, codec: 'h264', rotation: 0, sampling: { frames: 4 }, frames: [1, 2, 3, 4] }],
    prompt: 'the spot',
    runs: images.map((img, i) => ({ images: [img.index], status: 'ok' as const, answer: found[i] ? 'the spot' : 'no spot here', regions: found[i] ? [{ image: img.index, label: 'the spot', kind: 'box' as const, coords: [...BOXES[i]!], span: [0, 8] as [number, number] }] : [], warnings: [], stats: {} })),
    params: {},
    timings: {},
    warnings: [],
  };
  harness = await startHarness();
  page = harness.page;
});

after(async () => {
  const outside = (await harness?.close()) ?? [];
  assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
});

const render = (id: string, r: LoupeResult) => page.evaluate(([id, r]) => (window as any).h.render(id, r).then(() => undefined), [id, r] as const);
const state = () =>
  page.evaluate(() => {
    const root = document.querySelector('[data-output="v"] .loupe-video')!;
    const thumbs = [...root.querySelectorAll<HTMLElement>('.loupe-thumb')];
    const large = root.querySelector('.loupe-frame-large .loupe-figure');
    return {
      facts: root.querySelector('.loupe-clip-facts')?.textContent,
      times: thumbs.map((t) => t.querySelector('.loupe-thumb-time')!.textContent),
      selected: thumbs.map((t) => t.getAttribute('aria-selected')),
      tabStops: thumbs.filter((t) => t.tabIndex === 0).length,
      thumbBoxes: thumbs.map((t) => t.querySelectorAll('svg rect.loupe-region').length),
      ticks: [...root.querySelectorAll<HTMLElement>('.loupe-tick')].map((t) => [t.style.left, t.classList.contains('is-found'), t.classList.contains('is-current')]),
      largeIndex: (large as HTMLElement | null)?.dataset.index,
      largeBoxes: large?.querySelectorAll('svg rect.loupe-region').length,
      largeAnswer: large?.querySelector('.loupe-image-answer')?.textContent,
      answers: [...root.querySelectorAll('.loupe-frame-answers li')].map((li) => li.textContent),
      focused: (document.activeElement as HTMLElement | null)?.className ?? '',
      transform: (large?.querySelector('.loupe-stage') as HTMLElement | null)?.style.transform,
    };
  });

test('a ground cell over a clip: facts, timeline marks, filmstrip with overlays, the first frame large, answers with times', async () => {
  await page.evaluate(() => (window as any).h.setup({}));
  await render('v', result);
  const s = await state();
  assert.equal(s.facts, 'clip.mp4: 0:08, 25 fps, 480×270, h264, 4 frames, uniform');
  assert.deepEqual(s.times, ['0:01.00', '0:03.00', '0:05.00', '0:07.00']);
  assert.deepEqual(s.ticks, [['12.5%', true, true], ['37.5%', false, false], ['62.5%', true, false], ['87.5%', true, false]]);
  assert.deepEqual(s.thumbBoxes, [1, 0, 1, 1], 'each frame shows its own regions in the filmstrip');
  assert.deepEqual([s.largeIndex, s.largeBoxes, s.largeAnswer], ['1', 1, 'the spot']);
  assert.deepEqual(s.answers, ['0:01.00the spot', '0:03.00no spot here', '0:05.00the spot', '0:07.00the spot']);
  assert.equal(s.tabStops, 1, 'one tab stop in the filmstrip');
  // The large frame's box sits on the spot of frame 1, on screen.
  const img = (await page.locator('[data-output="v"] .loupe-frame-large img').boundingBox())!;
  const box = (await page.locator('[data-output="v"] .loupe-frame-large svg rect.loupe-region').boundingBox())!;
  const sx = img.width / 480;
  assert.ok(Math.abs(box.x - (img.x + 20 * sx)) <= 3 && Math.abs(box.x + box.width - (img.x + 80 * sx)) <= 3, `box ${JSON.stringify(box)} on image ${JSON.stringify(img)}`);
  await page.screenshot({ path: join(SHOTS, 'video-filmstrip.png'), fullPage: true });
});

test('the keyboard walks the filmstrip, Enter opens the frame large, + zooms it; the timeline and answers follow', async () => {
  await page.locator('[data-output="v"] .loupe-thumb[aria-selected="true"]').focus();
  await page.keyboard.press('ArrowRight');
  let s = await state();
  assert.deepEqual([s.selected, s.largeIndex, s.largeBoxes, s.largeAnswer], [['false', 'true', 'false', 'false'], '2', 0, 'no spot here']);
  assert.match(s.focused, /loupe-thumb/);
  await page.keyboard.press('End');
  s = await state();
  assert.deepEqual([s.largeIndex, s.largeBoxes, s.ticks[3]![2]], ['4', 1, true]);
  await page.keyboard.press('Enter');
  s = await state();
  assert.match(s.focused, /loupe-viewport/, 'Enter moves to the large frame');
  await page.keyboard.press('+');
  s = await state();
  assert.match(s.transform ?? '', /scale\(1\.25\)/);
  // A click on the timeline shows that frame.
  await page.locator('[data-output="v"] .loupe-tick').nth(2).click();
  s = await state();
  assert.deepEqual([s.largeIndex, s.selected[2]], ['3', 'true']);
  // An answer's time shows its frame.
  await page.locator('[data-output="v"] .loupe-frame-answers .loupe-time').nth(1).click();
  assert.equal((await state()).largeIndex, '2');
  await page.screenshot({ path: join(SHOTS, 'video-frame-large.png'), fullPage: true });
});

test('streaming updates without the frames\' bytes keep the thumbnails; dispose revokes every object URL', async () => {
  const src = await page.locator('[data-output="v"] .loupe-thumb img').first().getAttribute('src');
  const streaming: LoupeResult = { ...result, status: 'running', images: result.images.map((i) => ({ ...i, display: { ...i.display!, data: '' } })) };
  await render('v', streaming);
  assert.equal(await page.locator('[data-output="v"] .loupe-thumb img').first().getAttribute('src'), src, 'the same image element and URL');
  assert.equal(await page.locator('[data-output="v"] .loupe-thumb').count(), 4);
  await page.evaluate(() => (window as any).h.dispose('v'));
  const { created, revoked } = await page.evaluate(() => ({ created: [...(window as any).h.created], revoked: [...(window as any).h.revoked] }));
  assert.ok(created.length >= 5);
  for (const u of created) assert.ok(revoked.includes(u), `${u} revoked`);
});

test('side by side on a clip: a legend per model, each model\'s regions in its colour (the legend hides them), answers by frame and model', async () => {
  const models = [{ id: 'tiny-florence2' }, { id: 'gpu:Qwen/Qwen2-VL-7B-Instruct', engine: 'gpu' }];
  const side: LoupeResult = {
    ...result,
    runs: models.flatMap((model, m) =>
      result.images.map((img, i) => ({
        images: [img.index],
        modelIndex: m,
        model,
        status: 'ok' as const,
        answer: `spot ${m + 1}`,
        regions: [{ image: img.index, label: 'the spot', kind: 'box' as const, coords: [...BOXES[i]!] }],
        warnings: [],
        stats: {},
      })),
    ),
  };
  await render('s', side);
  const root = page.locator('[data-output="s"] .loupe-video');
  assert.deepEqual(await root.locator('.loupe-legend-item').allTextContents(), ['tiny-florence2', 'gpu:Qwen/Qwen2-VL-7B-Instruct']);
  assert.equal(await root.locator('.loupe-frame-large svg .loupe-region.loupe-m0').count(), 1);
  assert.equal(await root.locator('.loupe-frame-large svg .loupe-region.loupe-m1').count(), 1);
  const answers = await root.locator('.loupe-frame-answers li').allTextContents();
  assert.equal(answers.length, 8);
  assert.deepEqual(answers.slice(0, 2), ['0:01.00tiny-florence2: spot 1', '0:01.00gpu:Qwen/Qwen2-VL-7B-Instruct: spot 2']);
  assert.deepEqual(await root.locator('.loupe-frame-large .loupe-image-answer .loupe-run-model').allTextContents(), ['tiny-florence2: ', 'gpu:Qwen/Qwen2-VL-7B-Instruct: ']);
  const strokes = await Promise.all([0, 1].map((m) => root.locator(`.loupe-frame-large svg .loupe-region.loupe-m${m}`).evaluate((e) => getComputedStyle(e).stroke)));
  assert.notEqual(strokes[0], strokes[1], 'each model its own colour');
  await root.locator('.loupe-legend-item[data-model="1"]').click();
  assert.equal(await root.locator('.loupe-frame-large svg .loupe-region.loupe-m1').evaluate((e) => getComputedStyle(e).display), 'none');
  assert.notEqual(await root.locator('.loupe-frame-large svg .loupe-region.loupe-m0').evaluate((e) => getComputedStyle(e).display), 'none');
  await page.screenshot({ path: join(SHOTS, 'video-side-by-side.png'), fullPage: true });
  await page.evaluate(() => (window as any).h.dispose('s'));
});
