// The notebook renderer in real Chromium (Debian's chromium driven by playwright-core), through a harness page
// that activates dist/renderer.js with a RendererContext, as VS Code does. Screenshots go to test-results/renderer/.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import type { BatchRowView, BatchSummary } from '../../src/common/batch';
import type { LoupeResult, Region, ResultImage } from '../../src/common/result';
import { loadImage } from '../../src/images/load';
import { makeResult, regionsOf, ROOT, spanOf, startHarness, withRun, type Harness } from './support';

const SHOTS = join(ROOT, 'test-results', 'renderer');
let harness: Harness | undefined;
let page: Page;
let tmp: string;
const img: Record<string, ResultImage> = {};

// Marks: an upright 300×200 picture with a red square, a blue square and a green dot at known pixels.
const W = 300;
const H = 200;
const RED: [number, number, number, number] = [30, 20, 90, 80];
const BLUE: [number, number, number, number] = [200, 120, 280, 180];
const GREEN: [number, number] = [150, 70];

async function marks(scale = 1): Promise<Buffer> {
  const rect = (b: number[], color: string) => ({
    input: { create: { width: (b[2]! - b[0]!) * scale, height: (b[3]! - b[1]!) * scale, channels: 3 as const, background: color } },
    left: b[0]! * scale,
    top: b[1]! * scale,
  });
  return sharp({ create: { width: W * scale, height: H * scale, channels: 3, background: '#ffffff' } })
    .composite([rect(RED, '#ff0000'), rect(BLUE, '#0000ff'), rect([GREEN[0] - 10, GREEN[1] - 10, GREEN[0] + 10, GREEN[1] + 10], '#00c000')])
    .png()
    .toBuffer();
}

async function load(path: string, source: string, index = 1): Promise<ResultImage> {
  const r = await loadImage(path);
  if (!r.ok) throw new Error(r.error);
  const { width, height, format, display, notes } = r.image;
  return { index, source, width, height, format, display, ...(notes.length ? { notes } : {}) };
}

const ANSWER = 'A red square, a blue square and a green dot.';
function marksRegions(scale = 1, image = 1): Region[] {
  const s = (v: number[]) => v.map((c) => c * scale);
  return [
    { image, label: 'red', kind: 'box', coords: s(RED), span: spanOf(ANSWER, 'red square') },
    { image, label: 'blue', kind: 'quad', coords: s([BLUE[0], BLUE[1], BLUE[2], BLUE[1], BLUE[2], BLUE[3], BLUE[0], BLUE[3]]), span: spanOf(ANSWER, 'blue square') },
    { image, label: 'green', kind: 'point', coords: s(GREEN), span: spanOf(ANSWER, 'green dot') },
  ];
}

const withIndex = (i: ResultImage, index: number): ResultImage => ({ ...i, index });

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'loupe-renderer-'));
  await mkdir(SHOTS, { recursive: true });
  const upright = await marks();
  await writeFile(join(tmp, 'marks.png'), upright);
  // EXIF orientation 6 (shown rotated 90° clockwise): store the upright picture turned 90° counter-clockwise.
  await writeFile(join(tmp, 'marks-exif.jpg'), await sharp(upright).rotate(270).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer());
  // Natural 3000×2000, display copy 1600×1067: regions and draws must go through the display scale.
  await writeFile(join(tmp, 'marks-big.png'), await marks(10));
  img.marks = await load(join(tmp, 'marks.png'), 'images/marks.png');
  img.exif = await load(join(tmp, 'marks-exif.jpg'), 'images/marks-exif.jpg');
  img.big = await load(join(tmp, 'marks-big.png'), 'images/marks big.png');
  for (const name of ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg']) img[name] = await load(join(ROOT, 'examples/images', name), `images/${name}`);
  assert.deepEqual([img.exif.width, img.exif.height], [W, H], 'the EXIF fixture is upright 300×200');
  assert.deepEqual([img.big.display!.width, img.big.width], [1600, 3000]);
  harness = await startHarness();
  page = harness.page;
});

after(async () => {
  // Nothing may leave the machine: only the local server, blob: and data: URLs.
  const outside = (await harness?.close()) ?? [];
  await rm(tmp, { recursive: true, force: true });
  assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
});

const setup = (opts: { messaging?: boolean; state?: unknown } = {}) => page.evaluate((o) => (window as any).h.setup(o), opts);
const render = (id: string, r: LoupeResult) => page.evaluate(([id, r]) => (window as any).h.render(id, r).then(() => undefined), [id, r] as const);
const frame = () => page.evaluate(() => (window as any).h.frame());
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const out = (id: string) => `[data-output="${id}"]`;

interface Placement {
  id: string;
  kind: string;
  /** The shape's on-screen bounding box. */
  box: [number, number, number, number];
  /** Where the region's coordinates should be, through the drawn image's on-screen rect. */
  want: [number, number, number, number];
}

/** Every region's on-screen box next to where its original-pixel coordinates should land on the drawn image. */
function placements(sel: string, regions: Region[], figure = 0): Promise<{ z: number; imgW: number; vpW: number; vp: [number, number, number, number]; list: Placement[] }> {
  return page.evaluate(
    ([sel, regions, figure]) => {
      const fig = document.querySelector(sel)!.querySelectorAll('.loupe-figure')[figure]!;
      const im = fig.querySelector('img')!.getBoundingClientRect();
      const vp = fig.querySelector('.loupe-viewport')!.getBoundingClientRect();
      const svg = fig.querySelector('svg')!;
      const [, , nw, nh] = svg.getAttribute('viewBox')!.split(' ').map(Number) as [number, number, number, number];
      const list = [...svg.querySelectorAll<SVGGraphicsElement>('.loupe-region')].map((s) => {
        const r = regions[Number(s.dataset.region)]!;
        const xs = r.coords.filter((_, i) => i % 2 === 0);
        const ys = r.coords.filter((_, i) => i % 2 === 1);
        const b = s.getBoundingClientRect();
        const X = (x: number) => im.left + (x / nw) * im.width;
        const Y = (y: number) => im.top + (y / nh) * im.height;
        return {
          id: s.dataset.region!,
          kind: r.kind,
          box: [b.left, b.top, b.right, b.bottom] as [number, number, number, number],
          want: [X(Math.min(...xs)), Y(Math.min(...ys)), X(Math.max(...xs)), Y(Math.max(...ys))] as [number, number, number, number],
        };
      });
      return { z: im.width / vp.width, imgW: im.width, vpW: vp.width, vp: [vp.left, vp.top, vp.right, vp.bottom] as [number, number, number, number], list };
    },
    [sel, regions, figure] as const,
  );
}

function assertPlaced(p: Awaited<ReturnType<typeof placements>>, what: string): void {
  assert.ok(p.list.length > 0, `${what}: regions drawn`);
  for (const r of p.list) r.box.forEach((v, i) => assert.ok(Math.abs(v - r.want[i]!) <= 1, `${what}: region ${r.id} (${r.kind}) edge ${i} at ${v.toFixed(1)}, want ${r.want[i]!.toFixed(1)}`));
}

/** The colour under a point of the page (from a real screenshot, so this is what a person sees). */
async function colorsAt(points: [number, number][]): Promise<[number, number, number][]> {
  // Full-page screenshots are in page coordinates; the points are in the (scrolled) viewport's.
  const [sx, sy] = await page.evaluate(() => [window.scrollX, window.scrollY]);
  const png = await page.screenshot({ fullPage: true });
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return points.map(([x, y]) => {
    const i = (Math.round(y + sy) * info.width + Math.round(x + sx)) * 3;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  });
}

const dominant = (c: [number, number, number]) => (c[0] > 150 && c[1] < 100 && c[2] < 100 ? 'red' : c[2] > 150 && c[0] < 100 && c[1] < 100 ? 'blue' : c[1] > 120 && c[0] < 100 && c[2] < 100 ? 'green' : 'other');

/** The image under the centre of each region is the region's own colour: regions sit on their pixels. */
async function assertOnPixels(sel: string, regions: Region[], what: string): Promise<void> {
  const p = await placements(sel, regions);
  // Only regions whose centre is in view (zoomed in, the others are clipped).
  const inView = ([x, y]: [number, number]) => x > p.vp[0] + 1 && x < p.vp[2] - 1 && y > p.vp[1] + 1 && y < p.vp[3] - 1;
  p.list = p.list.filter((r) => inView([(r.want[0] + r.want[2]) / 2, (r.want[1] + r.want[3]) / 2]));
  assert.ok(p.list.length > 0, `${what}: some region in view`);
  const centres = p.list.map((r) => [(r.want[0] + r.want[2]) / 2, (r.want[1] + r.want[3]) / 2] as [number, number]);
  // Regions hidden while sampling: only the image's own pixels count.
  await page.evaluate((sel) => document.querySelector(sel)!.querySelectorAll<HTMLElement>('svg, .loupe-chips').forEach((e) => (e.style.visibility = 'hidden')), sel);
  const colors = await colorsAt(centres);
  await page.evaluate((sel) => document.querySelector(sel)!.querySelectorAll<HTMLElement>('svg, .loupe-chips').forEach((e) => (e.style.visibility = '')), sel);
  p.list.forEach((r, i) => assert.equal(dominant(colors[i]!), regions[Number(r.id)]!.label, `${what}: region ${r.id} over ${colors[i]}`));
}

const transforms = (sel: string) => page.$$eval(`${sel} .loupe-stage`, (s) => s.map((e) => (e as HTMLElement).style.transform));

test('boxes, quads and points sit on their pixels: square, non-square and EXIF-rotated images, at zoom 1 and zoomed', async () => {
  await setup();
  const square = makeResult([img['astronaut.png']!], [
    { image: 1, label: 'helmet', kind: 'box', coords: [150, 20, 350, 230] },
    { image: 1, label: 'patch', kind: 'quad', coords: [300, 300, 400, 320, 390, 420, 290, 400] },
    { image: 1, label: 'flag', kind: 'point', coords: [60, 420] },
  ], 'An astronaut.');
  await render('square', square);
  assertPlaced(await placements(out('square'), regionsOf(square)), 'square, zoom 1');
  await shot('regions-square');

  for (const [id, image, scale] of [['nonsquare', img.marks!, 1], ['exif', img.exif!, 1], ['big', img.big!, 10]] as const) {
    const r = makeResult([image], marksRegions(scale), ANSWER);
    await render(id, r);
    await page.locator(`${out(id)} .loupe-viewport`).scrollIntoViewIfNeeded();
    const p1 = await placements(out(id), regionsOf(r));
    assertPlaced(p1, `${id}, zoom 1`);
    assert.ok(Math.abs(p1.z - 1) < 0.01);
    await assertOnPixels(out(id), regionsOf(r), `${id}, zoom 1`);
    await shot(`regions-${id}-zoom1`);
    // Keyboard zoom, then Ctrl+wheel at the green dot, then a drag: regions follow the pixels.
    await page.focus(`${out(id)} .loupe-viewport`);
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    const dot = p1.list.find((x) => x.kind === 'point')!.want;
    const before = (await placements(out(id), regionsOf(r))).list.find((x) => x.kind === 'point')!.want;
    await page.mouse.move(before[0], before[1]);
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -200);
    await page.keyboard.up('Control');
    await frame();
    const p2 = await placements(out(id), regionsOf(r));
    assert.ok(p2.z > 2, `${id}: zoomed in (${p2.z})`);
    const after = p2.list.find((x) => x.kind === 'point')!.want;
    assert.ok(Math.abs(after[0] - before[0]) < 1.5 && Math.abs(after[1] - before[1]) < 1.5, `${id}: wheel zoom keeps the point under the pointer`);
    assertPlaced(p2, `${id}, zoom ${p2.z.toFixed(2)}`);
    await page.mouse.move(dot[0], dot[1]);
    await page.mouse.down();
    await page.mouse.move(dot[0] + 30, dot[1] + 20, { steps: 3 });
    await page.mouse.up();
    const p3 = await placements(out(id), regionsOf(r));
    const moved = p3.list.find((x) => x.kind === 'point')!.want;
    assert.ok(Math.abs(moved[0] - after[0] - 30) < 1.5 && Math.abs(moved[1] - after[1] - 20) < 1.5, `${id}: drag pans by the drag`);
    assertPlaced(p3, `${id}, zoomed and panned`);
    // Once the gesture settles, label chips are back to their screen size (counter-scaled by 1/zoom).
    await page.waitForFunction((sel) => !document.querySelector(`${sel} .loupe-stage.is-moving`), out(id));
    const chipH = await page.$$eval(`${out(id)} .loupe-chip`, (c) => c.map((e) => e.getBoundingClientRect().height));
    for (const h of chipH) assert.ok(Math.abs(h - 15) < 1.5, `${id}: chip height ${h} at zoom ${p3.z}`);
    await assertOnPixels(out(id), regionsOf(r), `${id}, zoomed`);
    await shot(`regions-${id}-zoomed`);
    await page.keyboard.press('0');
  }
});

test('hovering or focusing a region highlights its text; hovering the text highlights the region; Tab follows reading order', async () => {
  await setup();
  const r = makeResult([img.marks!], marksRegions(), ANSWER);
  await render('hl', r);
  const hot = () => page.evaluate((sel) => ({
    regions: [...document.querySelector(sel)!.querySelectorAll<SVGElement>('.loupe-region.is-hot')].map((e) => e.dataset.region),
    spans: [...document.querySelector(sel)!.querySelectorAll('.loupe-ref.is-hot')].map((e) => e.textContent),
    chips: [...document.querySelector(sel)!.querySelectorAll('.loupe-chip.is-hot')].map((e) => e.textContent),
  }), out('hl'));
  // Region → text.
  await page.hover(`${out('hl')} .loupe-region[data-region="0"]`);
  assert.deepEqual(await hot(), { regions: ['0'], spans: ['red square'], chips: ['red'] });
  await shot('highlight-region-to-text');
  await page.mouse.move(5, 5);
  assert.deepEqual((await hot()).regions, []);
  // Text → region.
  await page.hover(`${out('hl')} .loupe-ref >> text=blue square`);
  assert.deepEqual(await hot(), { regions: ['1'], spans: ['blue square'], chips: ['blue'] });
  await shot('highlight-text-to-region');
  await page.mouse.move(5, 5);
  // Keyboard: Tab from the image goes through the regions in reading order, each announced by its label.
  await page.focus(`${out('hl')} .loupe-viewport`);
  const names: string[] = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    names.push(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''));
  }
  assert.match(names[0]!, /^Region 1 of 3 on image 1: red, box \[30, 20, 90, 80\]/);
  assert.match(names[1]!, /^Region 2 of 3 on image 1: green, point \[150, 70\]/);
  assert.match(names[2]!, /^Region 3 of 3 on image 1: blue, quad/);
  assert.deepEqual((await hot()).spans, ['blue square'], 'the focused region lights its text');
  // Copy coordinates on the focused region: a message to the extension, which owns the clipboard.
  await page.keyboard.press('c');
  await page.keyboard.press('Enter');
  const msgs = await page.evaluate(() => (window as any).h.messages);
  assert.deepEqual(msgs[0], { type: 'copy', text: '[200, 120, 280, 120, 280, 180, 200, 180]' });
  assert.deepEqual(msgs[1], { type: 'askAboutRegion', outputId: 'hl', image: { index: 1, source: 'images/marks.png' }, box: [200, 120, 280, 180] });
  // Every image has alt text naming it, its size and its regions.
  assert.equal(await page.getAttribute(`${out('hl')} img`, 'alt'), 'Image 1: images/marks.png, 300×200 pixels; 3 regions: red, blue, green');
});

test('toggles hide regions and labels, are keyboard reachable, and are remembered in renderer state', async () => {
  await setup();
  const r = makeResult([img.marks!], marksRegions(), ANSWER);
  await render('tg', r);
  const visible = (sel: string) => page.$eval(`${out('tg')} ${sel}`, (e) => getComputedStyle(e).display !== 'none');
  assert.equal(await visible('svg'), true);
  assert.equal(await visible('.loupe-chips'), true);
  await page.click(`${out('tg')} button:has-text("Labels")`);
  assert.equal(await visible('.loupe-chips'), false);
  assert.equal(await visible('svg'), true);
  assert.equal(await page.getAttribute(`${out('tg')} button:has-text("Labels")`, 'aria-pressed'), 'false');
  // Keyboard: Tab to the Regions button and press Space.
  await page.focus(`${out('tg')} button:has-text("Regions")`);
  await page.keyboard.press('Space');
  assert.equal(await visible('svg'), false);
  await shot('toggles-off');
  assert.deepEqual(await page.evaluate(() => (window as any).h.state), { layout: 'side', overlay: false, labels: false });
  // A new output starts with the remembered settings.
  await render('tg2', r);
  assert.equal(await page.$eval(`${out('tg2')} svg`, (e) => getComputedStyle(e).display), 'none');
  await page.click(`${out('tg')} button:has-text("Regions")`);
  await page.click(`${out('tg')} button:has-text("Labels")`);
  assert.equal(await visible('.loupe-chips'), true);
  // Keyboard zoom: + and - step by 1.25, 0 fits; the toolbar buttons do the same.
  await page.focus(`${out('tg')} .loupe-viewport`);
  await page.keyboard.press('+');
  assert.match((await transforms(out('tg')))[0]!, /scale\(1\.25\)/);
  await page.keyboard.press('=');
  await page.keyboard.press('-');
  assert.match((await transforms(out('tg')))[0]!, /scale\(1\.25\)/);
  await page.keyboard.press('0');
  assert.equal((await transforms(out('tg')))[0], 'translate(0%, 0%) scale(1)');
  await page.click(`${out('tg')} button[aria-label="Zoom in (+)"]`);
  assert.match((await transforms(out('tg')))[0]!, /scale\(1\.25\)/);
  await page.click(`${out('tg')} button:has-text("Fit")`);
  assert.equal((await transforms(out('tg')))[0], 'translate(0%, 0%) scale(1)');
});

test('comparison: two images side by side, four in a grid (remembered), synchronized zoom, one answer per image', async () => {
  await setup();
  const two = makeResult([withIndex(img.marks!, 1), withIndex(img['chelsea.png']!, 2)], [...marksRegions(1, 1), { image: 2, label: 'cat', kind: 'box', coords: [120, 20, 340, 290] }], ANSWER);
  await render('cmp2', two);
  const tops = (id: string) => page.$$eval(`${out(id)} .loupe-viewport`, (v) => v.map((e) => Math.round(e.getBoundingClientRect().top)));
  const lefts = (id: string) => page.$$eval(`${out(id)} .loupe-viewport`, (v) => v.map((e) => Math.round(e.getBoundingClientRect().left)));
  let t = await tops('cmp2');
  assert.equal(t[0], t[1], 'side by side: same row');
  assert.equal(await page.$eval(`${out('cmp2')} .loupe-images`, (e) => (e as HTMLElement).dataset.layout), 'side');
  await shot('compare-2-side');
  // Synchronized zoom: + on the first image zooms both, to the same place.
  await page.focus(`${out('cmp2')} .loupe-viewport`);
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  const [a, b] = await transforms(out('cmp2'));
  assert.match(a!, /scale\(1\.5625\)/);
  assert.equal(a, b);
  assertPlaced(await placements(out('cmp2'), regionsOf(two), 0), 'compare image 1 zoomed');
  assertPlaced(await placements(out('cmp2'), regionsOf(two), 1), 'compare image 2 zoomed');
  await shot('compare-2-zoomed');
  await page.keyboard.press('0');

  // Four images, fan-out answers: each image shows its own answer with its own regions.
  const parts = ['a red square', 'a cat', 'a coffee cup', 'a rocket'];
  const found: Region[] = [
    { image: 1, label: 'red', kind: 'box', coords: RED, span: spanOf(parts[0]!, 'red square') },
    { image: 2, label: 'cat', kind: 'box', coords: [120, 20, 340, 290], span: spanOf(parts[1]!, 'cat') },
    { image: 3, label: 'cup', kind: 'box', coords: [140, 90, 460, 330], span: spanOf(parts[2]!, 'coffee cup') },
    { image: 4, label: 'rocket', kind: 'box', coords: [260, 20, 380, 400], span: spanOf(parts[3]!, 'rocket') },
  ];
  // One run per image (fan-out): each with its own answer, spans relative to it.
  const four = makeResult([withIndex(img.marks!, 1), withIndex(img['chelsea.png']!, 2), withIndex(img['coffee.png']!, 3), withIndex(img['rocket.jpg']!, 4)], [], '', {
    runs: parts.map((answer, i) => ({ images: [i + 1], status: 'ok', answer, regions: [found[i]!], warnings: [], stats: {} })),
  });
  await render('cmp4', four);
  assert.deepEqual(await page.$$eval(`${out('cmp4')} .loupe-image-answer`, (a) => a.map((e) => e.textContent)), parts);
  assert.equal(await page.$eval(`${out('cmp4')} .loupe-answer:not(.loupe-image-answer)`, (e) => (e as HTMLElement).hidden), true);
  t = await tops('cmp4');
  assert.equal(new Set(t).size, 1, 'side by side: four in a row');
  await page.click(`${out('cmp4')} button:has-text("Grid")`);
  t = await tops('cmp4');
  const l = await lefts('cmp4');
  assert.equal(new Set(t).size, 2, `grid: two rows (${t})`);
  assert.equal(new Set(l).size, 2, `grid: two columns (${l})`);
  assert.equal((await page.evaluate(() => (window as any).h.state)).layout, 'grid');
  // Hovering a fan-out answer's text lights the region on its own image.
  await page.hover(`${out('cmp4')} .loupe-ref >> text=coffee cup`);
  assert.deepEqual(await page.$$eval(`${out('cmp4')} .loupe-region.is-hot`, (e) => e.map((x) => (x as SVGElement).dataset.region)), ['2']);
  await shot('compare-4-grid');
  await page.mouse.move(2, 2);
  // Remembered: a new output opens in the grid.
  await render('cmp4b', four);
  assert.equal(await page.$eval(`${out('cmp4b')} .loupe-images`, (e) => (e as HTMLElement).dataset.layout), 'grid');
  await page.focus(`${out('cmp4')} .loupe-viewport`);
  await page.keyboard.press('+');
  assert.equal(new Set(await transforms(out('cmp4'))).size, 1, 'grid: all four zoomed together');
  assertPlaced(await placements(out('cmp4'), regionsOf(four), 3), 'grid image 4 zoomed');
});

test('side by side: one column per model over the same image, regions in each model\'s colour with a legend that toggles them, a failed model shows its error in its column', async () => {
  await setup();
  const a = 'The red square is on the left.';
  const b = 'I see a blue square.';
  const run = (modelIndex: number, id: string, answer: string, regions: Region[], extra: Partial<LoupeResult['runs'][number]> = {}) => ({
    images: [1], modelIndex, model: { id, engine: modelIndex ? 'gpu' : 'local', provider: modelIndex ? 'vLLM' : 'cpu' }, status: 'ok' as const, answer, regions, warnings: [], stats: { totalMs: 1200 + modelIndex, generatedTokens: 9 }, ...extra,
  });
  const side = makeResult([img.marks!], [], '', {
    runs: [
      run(0, 'tiny-qwen2vl', a, [{ image: 1, label: 'red square', kind: 'box', coords: RED, span: spanOf(a, 'red square') }]),
      run(1, 'gpu:Qwen/Qwen2.5-VL-7B-Instruct', b, [{ image: 1, label: 'blue square', kind: 'box', coords: BLUE, span: spanOf(b, 'blue square') }]),
      run(2, 'gpu:nope', '', [], { model: { id: 'gpu:nope' }, status: 'error', error: 'Model not served: engine gpu has no model "nope". It serves: Qwen/Qwen2.5-VL-7B-Instruct.' }),
    ],
  });
  await render('side', side);
  const heads = await page.$$eval(`${out('side')} .loupe-column-head`, (h) => h.map((e) => e.textContent));
  assert.deepEqual(heads, ['tiny-qwen2vl (cpu)1.2 s · 9 tok', 'gpu:Qwen/Qwen2.5-VL-7B-Instruct (vLLM)1.2 s · 9 tok', 'gpu:nopefailed']);
  const cols = await page.$$eval(`${out('side')} .loupe-column`, (c) => c.map((e) => [e.querySelector('.loupe-run-answer')?.textContent ?? '', e.querySelector('.loupe-error')?.textContent ?? '', Math.round(e.getBoundingClientRect().top)] as const));
  assert.deepEqual(cols.map((c) => c[0]), [a, b, '']);
  assert.match(cols[2]![1], /Model not served: engine gpu has no model "nope"/);
  assert.equal(new Set(cols.map((c) => c[2])).size, 1, 'columns: one row');
  assert.equal(await page.$eval(`${out('side')} .loupe-messages`, (e) => e.textContent), '', 'the error is in its column, not the cell');
  // Both models' boxes on the one image, each on its pixels and in its model's colour (blue, orange), not its label's.
  assertPlaced(await placements(out('side'), regionsOf(side)), 'side by side');
  const strokes = await page.$$eval(`${out('side')} .loupe-region`, (r) => r.map((e) => getComputedStyle(e).stroke));
  assert.deepEqual(strokes, ['rgb(67, 99, 216)', 'rgb(245, 130, 49)']);
  const legend = await page.$$eval(`${out('side')} .loupe-legend-item`, (l) => l.map((e) => [e.textContent, getComputedStyle(e.querySelector('.loupe-swatch')!).backgroundColor, e.getAttribute('aria-pressed')]));
  assert.deepEqual(legend, [['tiny-qwen2vl (cpu)', 'rgb(67, 99, 216)', 'true'], ['gpu:Qwen/Qwen2.5-VL-7B-Instruct (vLLM)', 'rgb(245, 130, 49)', 'true'], ['gpu:nope', 'rgb(60, 180, 75)', 'true']]);
  // Hovering the second model's text lights its box only.
  await page.hover(`${out('side')} .loupe-column[data-model="1"] .loupe-ref`);
  assert.deepEqual(await page.$$eval(`${out('side')} .loupe-region.is-hot`, (e) => e.map((x) => (x as SVGElement).dataset.region)), ['1']);
  await page.mouse.move(2, 2);
  await shot('side-by-side');
  // The legend toggles one model's regions (and label chips) and leaves the other's.
  const visible = () => page.$$eval(`${out('side')} .loupe-region, ${out('side')} .loupe-chip`, (r) => r.filter((e) => getComputedStyle(e).display !== 'none').map((e) => (e as HTMLElement).dataset.region));
  assert.deepEqual(await visible(), ['0', '1', '0', '1']);
  await page.click(`${out('side')} .loupe-legend-item[data-model="0"]`);
  assert.deepEqual(await visible(), ['1', '1']);
  assert.equal(await page.$eval(`${out('side')} .loupe-legend-item[data-model="0"]`, (e) => e.getAttribute('aria-pressed')), 'false');
  await page.keyboard.press('Enter');
  assert.deepEqual(await visible(), ['0', '1', '0', '1'], 'keyboard: Enter on the focused toggle shows them again');
  // Streaming: a column that is still generating says so, and the legend and columns update in place.
  await render('side', { ...side, status: 'running', runs: [{ ...side.runs[0]!, status: 'running' }, side.runs[1]!] });
  assert.deepEqual(await page.$$eval(`${out('side')} .loupe-column-stats`, (h) => h.map((e) => e.textContent)), ['generating…', '1.2 s · 9 tok']);
});

test('a batch: progress while it runs, the score table, the first rows with thumbnails, and the pager asking the extension for the rest', async () => {
  await setup();
  const thumb = { mime: 'image/png' as const, data: (await sharp(await marks()).resize(64).png().toBuffer()).toString('base64'), width: 64, height: 43 };
  const row = (index: number, extra: Partial<BatchRowView> = {}): BatchRowView => ({
    v: 1, index, image: `photos/p-${String(index).padStart(3, '0')}.jpg`, sha256: 'a'.repeat(64), bytes: 1000, width: 300, height: 200, status: 'ok',
    answer: `a red square ${index}`, regions: [{ image: 1, label: 'red', kind: 'box', coords: RED }], stats: { totalMs: 1500 }, at: '2026-12-02T10:00:00Z', thumb, ...extra,
  });
  const rows = Array.from({ length: 20 }, (_, i) => row(i, i === 3 ? { status: 'error', answer: '', regions: [], error: 'Image could not be read: photos/p-003.jpg is corrupt or truncated', thumb: undefined } : i === 5 ? { answer: '<img src=x onerror="document.title=1">' } : {}));
  const batch: BatchSummary = { sidecar: 'b.loupe.runs/batch-0123456789abcdef.jsonl', globs: ['photos/*.jpg'], truth: 'truth.json', images: 45, models: 1, done: 45, ok: 44, errors: 1, resumed: 0, state: 'done', elapsedMs: 60_000, rows, scores: [{ model: { id: 'tiny-florence2', provider: 'cpu' }, images: 44, truth: 44, predicted: 44, hits: 40, iouSum: 35.2, points: 0, pointsIn: 0 }] };
  const result: LoupeResult = { ...makeResult([], [], ''), kind: 'batch', task: 'ground', runs: [], batch };
  // Running: the progress bar, the rate and the time left.
  await render('batch', { ...result, status: 'running', batch: { ...batch, state: 'running', done: 5, ok: 5, errors: 0, imagesPerSecond: 2.5, etaMs: 16_000, rows: rows.slice(0, 5) } });
  assert.equal(await page.$eval(`${out('batch')} .loupe-batch-status`, (e) => e.textContent), 'Batch running: 5 of 45 done · 2.5 images/s · about 16 s left · 0 errors — @images photos/*.jpg');
  assert.deepEqual(await page.$eval(`${out('batch')} progress`, (e) => [(e as HTMLProgressElement).value, (e as HTMLProgressElement).max, (e as HTMLElement).hidden]), [5, 45, false]);
  await render('batch', result);
  assert.equal(await page.$eval(`${out('batch')} .loupe-batch-status`, (e) => e.textContent), 'Batch finished: 45 of 45 done · 1 error — @images photos/*.jpg');
  assert.deepEqual(await page.$$eval(`${out('batch')} .loupe-batch-score tbody td`, (t) => t.map((e) => e.textContent)), ['tiny-florence2 (cpu)', '44', '44', '40', '90.9%', '0.800', '—']);
  const cells = () => page.$$eval(`${out('batch')} .loupe-batch-table tbody tr`, (r) => r.map((e) => [...e.querySelectorAll('td')].map((c) => c.textContent)));
  let shown = await cells();
  assert.equal(shown.length, 20);
  assert.deepEqual(shown[0], ['', '1. photos/p-000.jpg', 'a red square 0', '1', '1.5 s', 'ok']);
  assert.deepEqual(shown[3]!.slice(1), ['4. photos/p-003.jpg', 'Image could not be read: photos/p-003.jpg is corrupt or truncated', '', '1.5 s', 'error']);
  assert.equal(shown[5]![2], '<img src=x onerror="document.title=1">', 'model text stays text');
  assert.equal(await page.$$eval(`${out('batch')} .loupe-batch-table img`, (i) => i.filter((x) => (x as HTMLImageElement).naturalWidth === 64).length), 19);
  assert.notEqual(await page.title(), '1');
  await shot('batch');
  // The pager: the extension is asked for rows 21–40, and its answer fills the table.
  assert.equal(await page.$eval(`${out('batch')} .loupe-batch-page`, (e) => e.textContent), 'Images 1–20 of 45');
  await page.click(`${out('batch')} button:has-text("Next")`);
  const asked = (await page.evaluate(() => (window as any).h.messages.slice())).at(-1);
  assert.deepEqual({ ...asked, requestId: 0 }, { type: 'batchPage', requestId: 0, outputId: 'batch', sidecar: batch.sidecar, offset: 20, limit: 20, truth: 'truth.json' });
  await page.evaluate(([id, rows]) => (window as any).h.send({ type: 'batchPageResult', requestId: id, rows }), [asked.requestId, Array.from({ length: 20 }, (_, i) => row(20 + i))] as const);
  shown = await cells();
  assert.deepEqual(shown.map((r) => r[1]), Array.from({ length: 20 }, (_, i) => `${21 + i}. photos/p-${String(20 + i).padStart(3, '0')}.jpg`));
  assert.equal(await page.$eval(`${out('batch')} .loupe-batch-page`, (e) => e.textContent), 'Images 21–40 of 45');
  // An answer to another request is ignored; Previous goes back to the output's own rows.
  await page.evaluate(() => (window as any).h.send({ type: 'batchPageResult', requestId: 99999, rows: [] }));
  assert.equal((await cells()).length, 20);
  await page.click(`${out('batch')} button:has-text("Previous")`);
  assert.equal((await cells())[0]![1], '1. photos/p-000.jpg');
  // Without messaging (another viewer), only the output's rows, and where the rest are.
  await setup({ messaging: false });
  await render('batch2', result);
  assert.equal(await page.$eval(`${out('batch2')} .loupe-batch-page`, (e) => e.textContent), `Images 1–20 of 45; the rest are in ${batch.sidecar}`);
  assert.equal(await page.$eval(`${out('batch2')} button:has-text("Next")`, (b) => (b as HTMLButtonElement).disabled), true);
});

/** Drags between two points given in the original image's pixels; returns what the renderer posted. */
async function drawBetween(id: string, figure: number, a: [number, number], b: [number, number], nw: number, nh: number, shift = false) {
  const im = await page.locator(`${out(id)} .loupe-figure >> nth=${figure}`).locator('img').boundingBox();
  const at = (p: [number, number]) => [im!.x + (p[0] / nw) * im!.width, im!.y + (p[1] / nh) * im!.height] as const;
  const [x1, y1] = at(a);
  const [x2, y2] = at(b);
  await page.mouse.move(x1, y1);
  if (shift) await page.keyboard.down('Shift');
  await page.mouse.down();
  await page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, { steps: 2 });
  await page.mouse.move(x2, y2, { steps: 2 });
  return async () => {
    await page.mouse.up();
    if (shift) await page.keyboard.up('Shift');
    return page.evaluate(() => (window as any).h.messages.slice());
  };
}

test('a result written by Loupe 0.1 (schema v1) renders: fan-out answers under their images, boxes on them', async () => {
  await setup();
  const nb = JSON.parse(await readFile(join(ROOT, 'test', 'fixtures', 'notebooks', 'v1', 'v1.loupe'), 'utf8'));
  const v1 = nb.cells[3].outputs[0].items.find((i: { mime: string }) => i.mime === 'application/vnd.loupe.result+json').json;
  assert.equal(v1.version, 1);
  await render('v1', v1);
  assert.deepEqual(await page.$$eval(`${out('v1')} .loupe-image-answer`, (a) => a.map((e) => e.textContent)), ['bright region', 'bright region']);
  assert.equal(await page.$$eval(`${out('v1')} .loupe-region`, (e) => e.length), 2);
  // Each answer's text still lights its own image's box.
  await page.hover(`${out('v1')} figure[data-index="2"] .loupe-ref`);
  assert.deepEqual(await page.$$eval(`${out('v1')} .loupe-region.is-hot`, (e) => e.map((x) => (x as SVGElement).dataset.region)), ['1']);
  await page.mouse.move(2, 2);
});

test('a region reaching outside the image is drawn inside it; one wholly outside is not drawn', async () => {
  await setup();
  const { width: w, height: h } = img.marks!;
  const r = makeResult([img.marks!], [
    { image: 1, label: 'edge', kind: 'box', coords: [w - 20, h - 20, w + 500, h + 500] },
    { image: 1, label: 'away', kind: 'box', coords: [w + 10, h + 10, w + 50, h + 50] },
  ], 'edge away');
  await render('outside', r);
  const shapes = await page.$$eval(`${out('outside')} .loupe-region`, (e) => e.map((x) => ['x', 'y', 'width', 'height'].map((a) => Number(x.getAttribute(a)))));
  assert.deepEqual(shapes, [[w - 20, h - 20, 20, 20]], 'clamped to the image, and the one outside left out');
});

test('draw to ask posts the box in original-image pixels, through zoom, pan and the display scale', async () => {
  await setup();
  // Image 2 is 3000×2000 shown from a 1600×1067 copy.
  const r = makeResult([withIndex(img.marks!, 1), withIndex(img.big!, 2)], [], '', { kind: 'images', task: 'ask' });
  await render('draw', r);
  let finish = await drawBetween('draw', 1, [300, 200], [900, 800], 3000, 2000, true);
  await shot('draw-to-ask-dragging');
  let msgs = await finish();
  assert.equal(msgs.length, 1);
  const near = (got: number[], want: number[], tol: number) => got.forEach((v, i) => assert.ok(Number.isInteger(v) && Math.abs(v - want[i]!) <= tol, `box ${got} vs ${want}`));
  assert.deepEqual({ ...msgs[0], box: undefined }, { type: 'askAboutRegion', outputId: 'draw', image: { index: 2, source: 'images/marks big.png' }, box: undefined });
  // One screen pixel is 3000 / (viewport width) original pixels: the box is within that of the drag.
  const perPx = 3000 / (await page.locator(`${out('draw')} .loupe-viewport >> nth=1`).boundingBox())!.width;
  near(msgs[0].box, [300, 200, 900, 800], Math.ceil(perPx) + 1);
  // Zoomed and panned (synchronized, so through image 1's keyboard), with the Draw to ask toggle instead of Shift.
  await page.focus(`${out('draw')} .loupe-viewport`);
  for (let i = 0; i < 4; i++) await page.keyboard.press('+');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  await page.click(`${out('draw')} button:has-text("Draw to ask")`);
  const z = 1.25 ** 4;
  finish = await drawBetween('draw', 1, [1500, 1000], [1600, 1100], 3000, 2000);
  msgs = await finish();
  near(msgs[1].box, [1500, 1000, 1600, 1100], Math.ceil(perPx / z) + 1);
  // Dragging out of the image clamps to its edges; on image 1 (natural = display size) it is exact.
  await page.keyboard.press('0');
  finish = await drawBetween('draw', 0, [250, 150], [320, 230], W, H);
  msgs = await finish();
  assert.equal(msgs[2].image.index, 1);
  near(msgs[2].box, [250, 150, 300, 200], 1);
  assert.equal(msgs[2].box[2], 300);
  assert.equal(msgs[2].box[3], 200);
  await shot('draw-to-ask-zoomed');

  // Without messaging (requiresMessaging "optional"), draw to ask is off: no button, and Shift+drag just pans.
  await setup({ messaging: false });
  await render('nomsg', r);
  assert.equal(await page.locator(`${out('nomsg')} button:has-text("Draw to ask")`).isVisible(), false);
  finish = await drawBetween('nomsg', 1, [300, 200], [900, 800], 3000, 2000, true);
  assert.deepEqual(await finish(), []);
});

test('model text with <script>, <img onerror> and javascript: links stays inert text', async () => {
  await setup();
  const evil = 'Look: <script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> [link](javascript:window.__pwned=3) <a href="javascript:window.__pwned=4">click</a>';
  const r = makeResult(
    [{ ...img.marks!, source: 'images/<img src=x onerror="window.__pwned=5">.png', notes: ['<b onmouseover="window.__pwned=6">note</b>'] }],
    [{ image: 1, label: '<img src=x onerror="window.__pwned=7">', kind: 'box', coords: RED, span: spanOf(evil, '<script>') }],
    evil,
    { warnings: ['<svg onload="window.__pwned=8">'], error: '<iframe src="javascript:window.__pwned=9">', status: 'error' },
  );
  await render('xss', r);
  await page.hover(`${out('xss')} .loupe-ref`);
  await page.click(`${out('xss')} .loupe-answer:not(.loupe-image-answer)`, { position: { x: 200, y: 5 } });
  await frame();
  const dom = await page.evaluate((sel) => {
    const root = document.querySelector(sel)!;
    return {
      pwned: (window as any).__pwned ?? null,
      tags: [...root.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()).filter((t) => !['div', 'span', 'button', 'figure', 'figcaption', 'svg', 'rect', 'polygon', 'path'].includes(t)),
      imgs: [...root.querySelectorAll('img')].map((i) => i.src.slice(0, 5)),
      answer: root.querySelector('.loupe-answer:not(.loupe-image-answer)')!.textContent,
      chip: root.querySelector('.loupe-chip')!.textContent,
      caption: root.querySelector('figcaption')!.textContent,
      onAttrs: [...root.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith('on') || n === 'href'),
    };
  }, out('xss'));
  assert.equal(dom.pwned, null, 'no model text ran');
  assert.deepEqual(dom.tags, ['img'], 'the only non-structural element is the image itself');
  assert.deepEqual(dom.imgs, ['blob:']);
  assert.equal(dom.answer, evil);
  assert.equal(dom.chip, '<img src=x onerror="window.__pwned=7">');
  assert.match(dom.caption, /images\/<img src=x onerror="window.__pwned=5">\.png/);
  assert.deepEqual(dom.onAttrs, []);
  await shot('xss-inert');
});

test('streaming updates in place: same image element, zoom kept, regions and text grow; dispose revokes object URLs', async () => {
  await setup();
  const full = makeResult([img.marks!], marksRegions(), ANSWER);
  const partial = withRun({ ...full, status: 'running' }, { status: 'running', answer: 'A red squ', regions: [] });
  await render('stream', partial);
  assert.equal(await page.textContent(`${out('stream')} .loupe-status`), 'Generating…');
  await page.evaluate((sel) => ((window as any).firstImg = document.querySelector(`${sel} img`)), out('stream'));
  await page.focus(`${out('stream')} .loupe-viewport`);
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  const zoomed = await transforms(out('stream'));
  const urls = await page.evaluate(() => (window as any).h.created.length);
  // Observe the image: a flicker would remove or reload it.
  await page.evaluate((sel) => {
    (window as any).mutations = [];
    new MutationObserver((m) => (window as any).mutations.push(...m.flatMap((x) => [...x.removedNodes].map((n) => n.nodeName)))).observe(document.querySelector(sel)!, { childList: true, subtree: true });
  }, out('stream'));
  // Later streaming updates leave the image bytes out (data ''): the shown image stays.
  const noBytes = full.images.map((i) => ({ ...i, display: { ...i.display!, data: '' } }));
  for (const n of [14, 30, ANSWER.length]) await render('stream', withRun({ ...partial, images: noBytes }, { answer: ANSWER.slice(0, n), regions: regionsOf(full).filter((r) => r.span![1] <= n) }));
  await render('stream', full);
  const state = await page.evaluate((sel) => ({
    same: document.querySelector(`${sel} img`) === (window as any).firstImg,
    removed: (window as any).mutations.filter((n: string) => n === 'IMG'),
    regions: document.querySelectorAll(`${sel} .loupe-region`).length,
    answer: document.querySelector(`${sel} .loupe-answer:not(.loupe-image-answer)`)!.textContent,
    status: (document.querySelector(`${sel} .loupe-result`) as HTMLElement).dataset.status,
    created: (window as any).h.created.length,
  }), out('stream'));
  assert.deepEqual(state, { same: true, removed: [], regions: 3, answer: ANSWER, status: 'ok', created: urls });
  assert.deepEqual(await transforms(out('stream')), zoomed, 'zoom survives streaming');
  assertPlaced(await placements(out('stream'), regionsOf(full)), 'streamed regions, zoomed');
  await shot('streaming-done-zoomed');

  // Two outputs share the iframe: work in one never touches the other (both have a region 0).
  await render('other', full);
  await page.hover(`${out('stream')} .loupe-region[data-region="0"]`);
  assert.equal(await page.$$eval(`${out('other')} .is-hot`, (e) => e.length), 0);
  assert.equal(await page.$$eval('style#loupe-renderer-style', (e) => e.length), 1);
  // Dispose: every object URL this output made is revoked, and its DOM is gone.
  const src = await page.getAttribute(`${out('stream')} img`, 'src');
  await page.evaluate(() => (window as any).h.dispose('stream'));
  assert.ok((await page.evaluate(() => (window as any).h.revoked)).includes(src));
  assert.equal(await page.$$eval(`${out('other')} img`, (e) => e.length), 1);
});

test('dark theme and an image that could not be read', async () => {
  await setup();
  await page.evaluate(() => (window as any).h.theme('dark'));
  const r = makeResult(
    [withIndex(img.marks!, 1), withIndex(img['coffee.png']!, 2), { index: 3, source: 'images/missing.png', width: 0, height: 0, error: 'images/missing.png was not found' }],
    [...marksRegions(1, 1), { image: 2, label: 'cup', kind: 'box', coords: [140, 90, 460, 330] }],
    ANSWER,
    { warnings: ['The answer was cut at max_new_tokens.'] },
  );
  await render('dark', r);
  await page.hover(`${out('dark')} .loupe-region[data-region="3"]`);
  assert.equal(await page.textContent(`${out('dark')} .loupe-error`), 'Image 3 (images/missing.png): images/missing.png was not found');
  const fg = await page.$eval(`${out('dark')} .loupe-result`, (e) => getComputedStyle(e).color);
  assert.equal(fg, 'rgb(204, 204, 204)', 'text follows --vscode-foreground');
  await shot('dark-theme');
  await page.evaluate(() => (window as any).h.theme('light'));
});
