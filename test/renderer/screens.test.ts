// Screens in the renderer (real Chromium): the element table synced with the overlay both ways, keyboard reachable;
// tappable answers as badges; point markers with their labels; model text shown as text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import type { Region, ResultImage } from '../../src/common/result';
import { makeResult, startHarness, type Harness } from './support';

let harness: Harness | undefined;
let page: Page;
let image: ResultImage;

before(async () => {
  const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#202020' } }).png().toBuffer();
  image = { index: 1, source: 'images/screen.png', width: 400, height: 300, format: 'png', display: { mime: 'image/png', data: png.toString('base64'), width: 400, height: 300 } };
  harness = await startHarness();
  page = harness.page;
  await page.evaluate(() => (window as any).h.setup({}));
});
after(async () => {
  await harness?.close();
});

const ELEMENTS: Region[] = [
  { image: 1, label: 'Sign in', type: 'button', kind: 'box', coords: [20, 200, 180, 240] },
  { image: 1, label: '<b>Email</b>', type: 'text field', kind: 'box', coords: [20, 100, 380, 140] },
  { image: 1, label: 'icon', type: 'icon', kind: 'box', coords: [350, 10, 390, 50], score: 0.9 },
  { image: 1, label: 'Forgot password?', type: 'link', kind: 'point', coords: [300, 270] },
];

test('the element table lists type, text and box; hovering a row lights its box, clicking a box selects its row; keyboard reaches every row', async () => {
  const r = makeResult([image], ELEMENTS, 'button: Sign in\ntext field: <b>Email</b>', { task: 'list-elements' });
  await page.evaluate((r) => (window as any).h.render('els', r), r);
  const rows = await page.$$eval('[data-output="els"] .loupe-elements-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.deepEqual(rows, [
    ['1', 'button', 'Sign in', '[20, 200, 180, 240]', '1'],
    ['2', 'text field', '<b>Email</b>', '[20, 100, 380, 140]', '1'],
    ['3', 'icon', '—', '[350, 10, 390, 50]', '1'],
    ['4', 'link', 'Forgot password?', '[300, 270]', '1'],
  ]);
  // Model text is text: no element was made from it.
  assert.equal(await page.$$eval('[data-output="els"] .loupe-elements-table b', (b) => b.length), 0);
  const hotShapes = () => page.$$eval('[data-output="els"] .loupe-region.is-hot', (s) => s.map((e) => (e as SVGElement).dataset.region));
  await page.hover('[data-output="els"] tr[data-region="1"]');
  assert.deepEqual(await hotShapes(), ['1'], 'hovering row 2 lights its box');
  await page.mouse.move(0, 0);
  assert.deepEqual(await hotShapes(), []);
  // Click on the button's box: its row is selected.
  const box = (await page.$('[data-output="els"] .loupe-region[data-region="0"]'))!;
  const b = (await box.boundingBox())!;
  await page.mouse.click(b.x + 2, b.y + b.height / 2);
  assert.deepEqual(await page.$$eval('[data-output="els"] tr[aria-selected="true"]', (t) => t.map((e) => (e as HTMLElement).dataset.region)), ['0']);
  // Keyboard: a row takes focus, arrows move, Enter selects and lights the region.
  await page.focus('[data-output="els"] tr[data-region="0"]');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.region), '2');
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.$$eval('[data-output="els"] .loupe-region.is-selected', (s) => s.map((e) => (e as SVGElement).dataset.region)), ['2']);
  assert.deepEqual(await page.$$eval('[data-output="els"] tr[aria-selected="true"]', (t) => t.map((e) => (e as HTMLElement).dataset.region)), ['2']);
  assert.match((await page.getAttribute('[data-output="els"] tr[data-region="2"]', 'aria-label'))!, /Element 3: icon, box \[350, 10, 390, 50\]/);
  // The point is a marker at its pixel, with its label chip.
  assert.equal(await page.getAttribute('[data-output="els"] .loupe-region[data-region="3"]', 'd'), 'M300 270h0');
  assert.ok((await page.$$eval('[data-output="els"] .loupe-chip', (c) => c.map((e) => e.textContent))).includes('Forgot password?'));
  assert.deepEqual(harness!.requests.filter((u) => !/^(blob:)?http:\/\/127\.0\.0\.1[:/]/.test(u)), [], 'nothing from the network');
});

test('a tappable answer is a badge on its region; a result without elements shows no table', async () => {
  const yes: Region = { image: 1, label: 'tappable', kind: 'box', coords: [20, 200, 180, 240], tappable: true };
  const no: Region = { image: 1, label: 'not tappable', kind: 'box', coords: [20, 20, 180, 60], tappable: false };
  await page.evaluate((r) => (window as any).h.render('tap', r), makeResult([image], [yes, no], 'Yes.', { task: 'tappable' }));
  const chips = await page.$$eval('[data-output="tap"] .loupe-chip', (c) => c.map((e) => [e.className.includes('is-tappable'), e.className.includes('is-not-tappable'), getComputedStyle(e, '::before').content]));
  assert.deepEqual(chips, [[false, true, '"✗ "'], [true, false, '"✓ "']].sort((a, b) => Number(a[0]) - Number(b[0])));
  assert.equal(await page.$eval('[data-output="tap"] .loupe-elements', (e) => (e as HTMLElement).hidden), true);
});

test('side by side (@model a, b): the element table lists both models\' elements, each row with its model\'s swatch, and fades with the legend', async () => {
  const base = makeResult([image], [], '', { task: 'list-elements' });
  const r = {
    ...base,
    runs: [
      { images: [1], modelIndex: 0, model: { id: 'tiny-yolo' }, status: 'ok' as const, answer: 'button: Sign in', regions: [ELEMENTS[0]!], warnings: [], stats: {} },
      { images: [1], modelIndex: 1, model: { id: 'gpu:Qwen/Qwen2.5-VL-7B' }, status: 'ok' as const, answer: 'link: Forgot password?', regions: [ELEMENTS[3]!], warnings: [], stats: {} },
    ],
  };
  await page.evaluate((r) => (window as any).h.render('sbs', r), r);
  const rows = await page.$$eval('[data-output="sbs"] .loupe-elements-table tbody tr', (trs) =>
    trs.map((tr) => ({ cls: tr.className, text: [...tr.querySelectorAll('td')].map((td) => td.textContent), swatch: tr.querySelector('.loupe-swatch')?.className ?? '', title: (tr.firstElementChild as HTMLElement).title, label: tr.getAttribute('aria-label') })),
  );
  assert.deepEqual(rows.map((x) => x.text), [
    ['1', 'button', 'Sign in', '[20, 200, 180, 240]', '1'],
    ['2', 'link', 'Forgot password?', '[300, 270]', '1'],
  ]);
  assert.match(rows[0]!.cls, /\bloupe-m0\b/);
  assert.match(rows[1]!.cls, /\bloupe-m1\b/);
  assert.deepEqual(rows.map((x) => x.title), ['tiny-yolo', 'gpu:Qwen/Qwen2.5-VL-7B']);
  assert.notEqual(rows[0]!.swatch, rows[1]!.swatch, 'each model its own colour');
  assert.match(rows[1]!.label!, /^Element 2 from gpu:Qwen\/Qwen2\.5-VL-7B: link/);
  // The row's swatch has the legend's colour.
  const legend1 = await page.$eval('[data-output="sbs"] .loupe-legend-item[data-model="1"] .loupe-swatch', (e) => e.className);
  assert.equal(rows[1]!.swatch, legend1);
  // Hiding model 2 in the legend hides its region and fades its row; the other stays.
  await page.click('[data-output="sbs"] .loupe-legend-item[data-model="1"]');
  const opacity = (m: number) => page.$eval(`[data-output="sbs"] tr.loupe-m${m}`, (e) => getComputedStyle(e).opacity);
  assert.equal(await opacity(1), '0.6');
  assert.equal(await opacity(0), '1');
  assert.equal(await page.$eval('[data-output="sbs"] .loupe-region.loupe-m1', (e) => getComputedStyle(e).display), 'none');
  await page.click('[data-output="sbs"] .loupe-legend-item[data-model="1"]');
  assert.equal(await opacity(1), '1');
  // One model alone: no swatches.
  assert.equal(await page.$$eval('[data-output="els"] .loupe-elements-table .loupe-swatch', (s) => s.length), 0);
});
