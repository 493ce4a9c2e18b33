// Screens through the runner and the real model host on the fixture models: the tiny-yolo detector (boxes, class
// names, threshold, NMS, a user's own detector folder), sub-images on a generated page with bright marks, a
// detector's elements with OCR text, tappable badges, find-element, and refusal before any download.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { ERROR_MIME, RESULT_MIME, type LoupeResult } from '../src/common/result';
import { parseCell } from '../src/core/cells/parser';
import type { OutputSpec } from '../src/core/kernel/outputs';
import { EnginePromptRunner, type RunnerSettings } from '../src/core/kernel/runner';
import { HostClient } from '../src/engine/local/client';
import { LocalEngine } from '../src/engine/local/engine';

const ROOT = join(import.meta.dirname, '..');
const MODELS = join(ROOT, 'test', 'fixtures', 'models');
const dir = mkdtempSync(join(tmpdir(), 'loupe-screens-'));
const client = new HostClient({ script: join(ROOT, 'dist', 'host.js') });
after(() => {
  client.dispose();
  rmSync(dir, { recursive: true, force: true });
});
const engine = new LocalEngine(client, () => ({ device: 'cpu', dtype: 'auto', allowDownloads: false, endpoint: 'http://127.0.0.1:9', modelsDir: join(dir, 'hub') }));
symlinkSync(MODELS, join(dir, 'models'));
let settings: RunnerSettings = { defaultModel: join(MODELS, 'tiny-florence2'), maxImageTokens: 1024, maxImagePixels: 50_000_000 };
const runner = new EnginePromptRunner({ engines: { pick: (ref) => ({ engine, ref }) }, settings: () => settings, withProgress: (_l, fn) => fn(() => undefined, new AbortController().signal) });

async function run(source: string): Promise<{ result?: LoupeResult; error?: string }> {
  let last: OutputSpec[] = [];
  await runner.run(parseCell(source), { baseDir: dir, signal: new AbortController().signal, replaceOutputs: async (o: OutputSpec[]) => void (last = o) } as never);
  const items = last.flatMap((o) => o.items);
  const dec = (mime: string) => {
    const it = items.find((i) => i.mime === mime);
    return it ? JSON.parse(new TextDecoder().decode(it.data)) : undefined;
  };
  return { result: dec(RESULT_MIME), error: dec(ERROR_MIME)?.message };
}

type Box = [number, number, number, number];
async function page(name: string, width: number, height: number, marks: { box: Box; color?: string }[]): Promise<void> {
  const rects = marks.map(({ box: [a, b, c, d], color }) => `<rect x="${a}" y="${b}" width="${c - a}" height="${d - b}" fill="${color ?? '#ffffff'}"/>`).join('');
  await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#000"/>${rects}</svg>`)).png().toFile(join(dir, name));
}
const near = (a: number[], b: number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

test('tiny-yolo: boxes in original pixels, class names from the metadata, duplicates suppressed, noise under the threshold', async () => {
  const marks: { box: Box; color?: string }[] = [{ box: [60, 80, 300, 160] }, { box: [400, 500, 700, 580], color: '#ff2020' }, { box: [60, 900, 140, 980] }];
  await page('screen.png', 800, 1200, marks);
  const { result: r, error } = await run('@model ./models/tiny-yolo\n@image screen.png\n@task detect');
  assert.equal(error, undefined);
  const regions = r!.runs[0]!.regions;
  assert.deepEqual(regions.map((x) => x.label).sort(), ['button', 'icon', 'icon']);
  for (const m of marks) assert.ok(regions.some((x) => near(x.coords, m.box, 2.5)), `a box within 2.5 px of ${m.box}: ${JSON.stringify(regions.map((x) => x.coords))}`);
  assert.equal(r!.runs[0]!.answer, '2 × icon, 1 × button');
  assert.ok(regions.every((x) => x.score === 0.9 && x.type === x.label));
  assert.deepEqual([r!.images[0]!.modelWidth, r!.images[0]!.modelHeight], [640, 640]);
  // The stride-32 noise (score 0.1) shows only under a lower threshold.
  const low = await run('@model ./models/tiny-yolo\n@image screen.png\n@task detect\n@set confidence=0.05');
  assert.ok(low.result!.runs[0]!.regions.length > 100);
  // A task a detector cannot do is refused, naming those it can.
  assert.match((await run('@model ./models/tiny-yolo\n@image screen.png\n@task caption')).error!, /cannot run @task caption/);
});

test('a user\'s own detector folder (one best.onnx, no config.json) runs; a folder with two .onnx files says what to do', async () => {
  const own = join(dir, 'my-detector');
  mkdirSync(own);
  copyFileSync(join(MODELS, 'tiny-yolo', 'onnx', 'model.onnx'), join(own, 'best.onnx'));
  const { result: r, error } = await run('@model ./my-detector\n@image screen.png\n@task detect');
  assert.equal(error, undefined);
  assert.equal(r!.runs[0]!.regions.length, 3);
  copyFileSync(join(own, 'best.onnx'), join(own, 'last.onnx'));
  assert.match((await run('@model ./my-detector\n@image screen.png\n@task detect')).error!, /config\.json/);
});

test('sub-images: on an A4 page at 300 dpi every mark comes back within 2 px, none doubled at a seam; off loses them', async () => {
  // 5 × 3 grid of 827 px cells for a 640 input: seams at x 827, 1653 and y 827, 1653, 2480, 3307.
  const marks: Box[] = [
    [100, 100, 220, 150],
    [760, 400, 900, 450], // across x = 827
    [1500, 1600, 1580, 1720], // across y = 1653
    [1600, 2430, 1720, 2540], // across x = 1653 and y = 2480
    [2200, 3250, 2400, 3380], // across y = 3307, in the padded last row
    [300, 3400, 340, 3440],
  ];
  await page('a4.png', 2480, 3508, marks.map((box) => ({ box })));
  const { result: r, error } = await run('@model ./models/tiny-yolo\n@image a4.png\n@task detect');
  assert.equal(error, undefined);
  assert.match(r!.notes!.join(' '), /a 5 × 3 grid \(15 sub-images of 827 px\) plus the overview \(tiles=auto\)/);
  const boxes = r!.runs[0]!.regions.map((x) => x.coords);
  assert.equal(boxes.length, marks.length, `one box per mark: ${JSON.stringify(boxes.map((b) => b.map(Math.round)))}`);
  for (const m of marks) assert.ok(boxes.some((b) => near(b, m, 2)), `${m} within 2 px: ${JSON.stringify(boxes.map((b) => b.map(Math.round)))}`);
  assert.match(r!.runs[0]!.raw!, /--- part 1 \(row 1, column 1; x 0, y 0, 827×827\) ---/);
  // The whole page at 640 px: 5.5 px per model pixel, small marks blur away or shift.
  const off = await run('@model ./models/tiny-yolo\n@image a4.png\n@task detect\n@set tiles=off');
  const offBoxes = off.result!.runs[0]!.regions.map((x) => x.coords);
  assert.ok(!marks.every((m) => offBoxes.some((b) => near(b, m, 2))), 'without sub-images the marks are not all within 2 px');
});

test('side by side (@model a, b): sub-images and screen steps run per model, each in its own run, notes naming the model', async () => {
  const { result: r, error } = await run('@model ./models/tiny-yolo, ./models/tiny-qwen2vl\n@image a4.png\n@task detect');
  assert.equal(error, undefined);
  assert.deepEqual(r!.runs.map((x) => [x.modelIndex, x.status]), [[0, 'ok'], [1, 'ok']]);
  // The detector (fixed 640 input) splits the page; Qwen2-VL (dynamic resolution) sees it whole.
  assert.match(r!.runs[0]!.raw!, /--- part 1 \(row 1, column 1; x 0, y 0, 827×827\) ---/);
  assert.doesNotMatch(r!.runs[1]!.raw!, /--- part/);
  assert.equal(r!.runs[0]!.regions.length, 6, 'one box per mark, as alone');
  assert.ok(r!.runs[0]!.regions.every((x) => x.image === 1));
  const notes = (r!.notes ?? []).join('\n');
  assert.match(notes, /tiny-yolo: Image 1 ran as a 5 × 3 grid/);
  assert.doesNotMatch(notes, /tiny-qwen2vl: Image 1 ran as/);
});

test('list-elements on a detector takes each element\'s text from the OCR model; without one it says how to add it', async () => {
  settings = { ...settings, defaultModels: { 'ocr-regions': join(MODELS, 'tiny-florence2') } };
  const { result: r } = await run('@model ./models/tiny-yolo\n@image screen.png\n@task list-elements');
  const els = r!.runs[0]!.regions;
  assert.ok(els.every((e) => e.type), 'every element has a type');
  assert.ok(els.some((e) => e.label === 'FIXTURE TEXT'), JSON.stringify(els.map((e) => [e.type, e.label])));
  assert.match(r!.notes!.join(' '), /text comes from .*tiny-florence2/);
  // The default model stands in when it is present; a registry model not downloaded is never fetched for it.
  settings = { ...settings, defaultModels: {}, defaultModel: 'florence-2-base' };
  const bare = await run('@model ./models/tiny-yolo\n@image screen.png\n@task list-elements');
  assert.match(bare.result!.runs[0]!.warnings.join(' '), /florence-2-base, the default model, is not downloaded\): the detector gives boxes only\. Set loupe\.defaultModels \{"ocr-regions"/);
  settings = { ...settings, defaultModel: join(MODELS, 'tiny-florence2') };
  assert.ok((await run('@model ./models/tiny-yolo\n@image screen.png\n@task list-elements')).result!.runs[0]!.regions.some((e) => e.label === 'FIXTURE TEXT'));
});

test('tappable is a badge on the asked region; find-element answers a box; Florence-2 is refused tappable before anything loads', async () => {
  await page('form.png', 600, 400, [{ box: [200, 250, 400, 300] }]);
  const tap = await run('@model ./models/tiny-qwen2vl\n@image form.png\n@region [200, 250, 400, 300]\n@task tappable');
  assert.equal(tap.result!.runs[0]!.answer, 'Yes, it is tappable.');
  assert.deepEqual(tap.result!.runs[0]!.regions.map((x) => [x.label, x.tappable, x.coords]), [['tappable', true, [200, 250, 400, 300]]]);
  const find = await run('@model ./models/tiny-qwen2vl\n@image form.png\n@task find-element\nthe Sign in button');
  const box = find.result!.runs[0]!.regions[0]!;
  assert.equal(box.kind, 'box');
  assert.ok(near(box.coords, [200, 250, 400, 300], 30), String(box.coords));
  // A registry model that cannot do the task is refused from the registry: nothing is prepared or downloaded.
  const refused = await run('@model florence-2-base\n@image form.png\n@region [200, 250, 400, 300]\n@task tappable');
  assert.match(refused.error!, /florence-2-base cannot run @task tappable\. Models that can: qwen2-vl-2b\./);
});
