// Screens without a model: points in every dialect on odd-sized and EXIF-rotated images, the UI task prompts and
// refusals, element labels, the YOLO decoder (letterbox, threshold, NMS, metadata), and the sub-image planner and merge.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { parseAnswer, type Dialect } from '../../src/engine/dialects';
import { fromPixel } from '../../src/engine/dialects/frames';
import { asElements, splitElementLabel, tappableAnswer } from '../../src/engine/dialects/elements';
import { chatInstruction, dialectTasks, florencePrompt, regionText, usesPrompt } from '../../src/engine/dialects/prompts';
import { checkTask } from '../../src/core/kernel/runner';
import { combineElements, askedRegions } from '../../src/core/kernel/screens';
import { tilingFor } from '../../src/core/kernel/tiles';
import { parseCell } from '../../src/core/cells/parser';
import { cocoAnnotation } from '../../src/core/export/coco-region';
import { REGISTRY } from '../../src/engine/registry';
import { decodeYolo, letterbox, onnxMetadata, parseNames } from '../../src/engine/local/families/yolo';
import { chooseGrid, cropTiles, mergeTiled, planTiles, screenTiles } from '../../src/images/tiles';
import { inspectImage } from '../../src/images/load';
import { Graph } from '../../scripts/onnx-graph';

// An odd-sized screen stored sideways with EXIF orientation 6: upright it is 333×517.
async function rotatedScreen(): Promise<{ width: number; height: number }> {
  const upright = await sharp({ create: { width: 333, height: 517, channels: 3, background: '#123456' } }).png().toBuffer();
  const stored = await sharp(upright).rotate(270).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const h = await inspectImage(stored, 'screen.jpg');
  return { width: h.width, height: h.height };
}

/** The point (100, 400) of a 333×517 upright screen written in each dialect's own frame. */
function pointIn(dialect: Dialect, size: { width: number; height: number }, model: { width: number; height: number }): { raw: string; tol: number } {
  const [x, y] = [100, 400];
  switch (dialect) {
    case 'qwen2_vl':
      return { raw: `<|object_ref_start|>Sign in<|object_ref_end|><|box_start|>(${Math.round((x / size.width) * 1000)},${Math.round((y / size.height) * 1000)})<|box_end|>`, tol: 0.6 };
    case 'qwen2_5_vl':
      return { raw: `[{"point_2d": [${Math.round((x * model.width) / size.width)}, ${Math.round((y * model.height) / size.height)}], "label": "Sign in"}]`, tol: 1 };
    case 'qwen3_vl':
      return { raw: `\`\`\`json\n[{"point_2d": [${Math.round((x / size.width) * 1000)}, ${Math.round((y / size.height) * 1000)}], "label": "Sign in"}]\n\`\`\``, tol: 0.6 };
    case 'mm15':
      return { raw: `The Sign in button is at [${fromPixel(x, 'x', size, { kind: 'rel1000' })}, ${fromPixel(y, 'y', size, { kind: 'rel1000' })}].`, tol: 0.6 };
    case 'showui':
      return { raw: `[${(x / size.width).toFixed(4)}, ${(y / size.height).toFixed(4)}]`, tol: 0.1 };
    default:
      throw new Error(dialect);
  }
}

test('points: every chat dialect lands (100, 400) on an odd-sized, EXIF-rotated screen, in original pixels', async () => {
  const size = await rotatedScreen();
  assert.deepEqual(size, { width: 333, height: 517 }, 'the parser gets the upright size');
  // Qwen2.5-VL answers in pixels of its resized input (smart_resize to multiples of 28).
  const model = { width: 336, height: 504 };
  for (const d of ['qwen2_vl', 'qwen2_5_vl', 'qwen3_vl', 'mm15', 'showui'] as const) {
    const { raw, tol } = pointIn(d, size, model);
    const r = parseAnswer(d, 'find-element', raw, { images: [size], modelSizes: [model] });
    assert.equal(r.regions.length, 1, `${d}: ${raw}`);
    const p = r.regions[0]!;
    assert.equal(p.kind, 'point', d);
    assert.ok(Math.abs(p.coords[0]! - 100) <= tol && Math.abs(p.coords[1]! - 400) <= tol, `${d}: ${p.coords}`);
  }
});

test('points and boxes are clamped like boxes; ShowUI boxes in 0–1; out-of-frame numbers are dropped and counted', () => {
  const size = { width: 333, height: 517 };
  const over = parseAnswer('showui', 'find-element', '[1.02, -0.01]', { images: [size], modelSizes: [size] });
  assert.deepEqual(over.regions[0]!.coords, [333, 0]);
  assert.match(over.warnings.join(), /clamped/);
  const box = parseAnswer('showui', 'find-element', 'Sign in [0.1, 0.5, 0.4, 0.6]', { images: [size], modelSizes: [size] });
  assert.deepEqual(box.regions.map((r) => [r.kind, r.label, r.coords.map((v) => Math.round(v * 10) / 10)]), [['box', 'Sign in', [33.3, 258.5, 133.2, 310.2]]]);
  const wrongFrame = parseAnswer('showui', 'find-element', '[500, 700]', { images: [size], modelSizes: [size] });
  assert.deepEqual([wrongFrame.regions.length, wrongFrame.warnings], [0, ['1 region dropped: a coordinate above 1 in a 0–1 answer']]);
  assert.equal(regionText([33.3, 258.5, 133.2, 310.2], size, size, 'showui'), '[0.10, 0.50, 0.40, 0.60]');
});

test('COCO: a point is a 1×1 box plus the point in keypoints; a box is x, y, width, height', () => {
  assert.deepEqual(cocoAnnotation({ image: 1, label: 'tap', kind: 'point', coords: [10.4, 20.6] }), { bbox: [10.4, 20.6, 1, 1], area: 1, keypoints: [10.4, 20.6, 2], num_keypoints: 1 });
  assert.deepEqual(cocoAnnotation({ image: 1, label: 'b', kind: 'box', coords: [10, 20, 40, 60] }), { bbox: [10, 20, 30, 40], area: 1200 });
});

test('UI tasks: each dialect is asked in its own words, Florence-2 through its task tokens, and refused where it cannot', () => {
  const region = '<|box_start|>(100,200),(300,400)<|box_end|>';
  assert.match(chatInstruction('find-element', 'the Sign in button', 'qwen2_5_vl', undefined), /JSON format with bbox_2d/);
  assert.match(chatInstruction('find-element', 'the Sign in button', 'showui', undefined), /scaled from 0 to 1\.\nthe Sign in button$/);
  assert.match(chatInstruction('find-element', 'the Sign in button', 'mm15', undefined), /\[x1, y1, x2, y2\]/);
  assert.match(chatInstruction('tappable', '', 'qwen2_vl', region), /tappable.*Answer yes or no/);
  assert.match(chatInstruction('list-elements', '', 'qwen3_vl', undefined), /bbox_2d, type and text/);
  assert.throws(() => chatInstruction('widget-caption', '', 'qwen2_vl', undefined), /needs an @region/);
  assert.equal(florencePrompt('find-element', ' Sign in '), '<CAPTION_TO_PHRASE_GROUNDING>Sign in');
  assert.equal(florencePrompt('widget-caption', '', { box: [0, 0, 300, 200], size: { width: 600, height: 400 } }), '<REGION_TO_DESCRIPTION><loc_0><loc_0><loc_500><loc_500>');
  assert.ok(usesPrompt('florence2', 'find-element') && !usesPrompt('detections', 'detect') && !usesPrompt('qwen2_vl', 'tappable') && usesPrompt('qwen2_vl', 'screen-summary'));
  assert.deepEqual(dialectTasks('detections'), ['detect', 'list-elements']);
  assert.ok(!dialectTasks('florence2').includes('tappable'));
  // Before any download: the registry says who can.
  const florence = REGISTRY.find((e) => e.id === 'florence-2-base')!;
  assert.throws(() => checkTask(florence.id, florence.capabilities, 'tappable'), /florence-2-base cannot run @task tappable\. Models that can: qwen2-vl-2b\./);
  const omni = REGISTRY.find((e) => e.id === 'omniparser-icon-detect')!;
  assert.throws(() => checkTask(omni.id, omni.capabilities, 'find-element'), /Models that can: florence-2-base, florence-2-large, qwen2-vl-2b/);
  assert.deepEqual(parseCell('@image a.png\n@task list-elements\n@set tiles=auto confidence=0.4').params, { tiles: -1, confidence: 0.4 });
  assert.deepEqual(parseCell('@image a.png\n@set tiles=off').params, { tiles: 0 });
  assert.match(parseCell('@image a.png\n@set tiles=many').errors[0]!.message, /tiles must be auto, off or a number, found "many"/);
  assert.match(parseCell('@image a.png\n@set tiles=40').errors[0]!.message, /tiles must be auto, off or between 1 and 16/);
});

test('elements: types and texts from labels and JSON; OCR quads become text boxes; yes/no of a tappable answer', () => {
  assert.deepEqual(splitElementLabel('button "Sign in"', 'element'), { type: 'button', text: 'Sign in' });
  assert.deepEqual(splitElementLabel('Text field: Email', 'element'), { type: 'text field', text: 'Email' });
  assert.deepEqual(splitElementLabel('the bright region', 'element'), { type: 'element', text: 'the bright region' });
  const size = { width: 1000, height: 1000 };
  const mm = parseAnswer('mm15', 'list-elements', 'button "Sign in" [100, 800, 900, 900]\ntext "Welcome" [100, 100, 900, 200]', { images: [size], modelSizes: [size] });
  assert.deepEqual(mm.regions.map((r) => [r.type, r.label]), [['button', 'Sign in'], ['text', 'Welcome']]);
  const q = parseAnswer('qwen2_5_vl', 'list-elements', '[{"bbox_2d": [10, 10, 50, 50], "type": "Icon", "text": "menu"}]', { images: [size], modelSizes: [size] });
  assert.deepEqual(q.regions.map((r) => [r.type, r.label]), [['icon', 'menu']]);
  const quad = asElements([{ image: 1, label: 'Hello', kind: 'quad', coords: [10, 10, 50, 12, 50, 30, 10, 28] }]);
  assert.deepEqual(quad.map((r) => [r.kind, r.type, r.coords]), [['box', 'text', [10, 10, 50, 30]]]);
  assert.deepEqual(['Yes.', 'No, it is a label.', 'It is not tappable.', 'The button is tappable.', 'Hard to say.'].map(tappableAnswer), [true, false, false, true, undefined]);
  assert.deepEqual(askedRegions('tappable', [{ image: 1, box: [1, 2, 3, 4] }], 'No.', [1]).map((r) => [r.label, r.tappable, r.coords]), [['not tappable', false, [1, 2, 3, 4]]]);
});

test('a detector box takes the text of the OCR lines inside it; lines outside any box are text elements', () => {
  const det = [
    { image: 1, label: 'button', type: 'button', kind: 'box' as const, coords: [0, 0, 100, 40], score: 0.9 },
    { image: 1, label: 'icon', type: 'icon', kind: 'box' as const, coords: [200, 0, 230, 30], score: 0.8 },
  ];
  const lines = [
    { image: 1, label: 'Sign in', kind: 'box' as const, coords: [10, 10, 90, 30] },
    { image: 1, label: 'Welcome back', kind: 'box' as const, coords: [0, 100, 200, 130] },
  ];
  assert.deepEqual(combineElements(det, lines).map((r) => [r.type, r.label, r.score]), [['button', 'Sign in', 0.9], ['icon', 'icon', 0.8], ['text', 'Welcome back', undefined]]);
});

test('YOLO: Ultralytics metadata, letterbox geometry, confidence threshold and per-class NMS back in original pixels', () => {
  const g = new Graph();
  g.output(g.input('images', 1, [1]), 'out', 1, [1]);
  const bytes = g.encode('m', { producer: 't', doc: '', meta: { names: "{0: 'icon', 1: \"text box\", 2: 'it\\'s'}", imgsz: '[640, 640]' } });
  const meta = onnxMetadata(bytes);
  assert.deepEqual(parseNames(meta.names), ['icon', 'text box', "it's"]);
  assert.equal(meta.imgsz, '[640, 640]');
  // A 1080×2400 phone screen: scale 640/2400, 288 wide, padded 176 on each side.
  const lb = letterbox(1080, 2400, 640, 640);
  assert.deepEqual(lb, { width: 288, height: 640, left: 176, top: 0, right: 176, bottom: 0 });
  // Anchors: a box, a weaker duplicate of it (NMS), the same place in another class (kept), and noise below 0.25.
  const anchors = [
    [176 + 144, 320, 72, 64, 0.9, 0.0],
    [176 + 146, 320, 72, 64, 0.6, 0.0],
    [176 + 144, 320, 72, 64, 0.0, 0.5],
    [400, 400, 10, 10, 0.1, 0.1],
  ];
  const data = new Float32Array(6 * anchors.length);
  anchors.forEach((a, i) => a.forEach((v, c) => (data[c * anchors.length + i] = v)));
  const out = decodeYolo(data, [1, 6, anchors.length], { names: ['icon', 'button'], confidence: 0.25, iou: 0.7, box: lb, width: 1080, height: 2400 });
  assert.deepEqual(out.map((d) => [d.label, Math.round(d.score * 10) / 10, d.box.map((v) => Math.round(v))]), [
    ['icon', 0.9, [405, 1080, 675, 1320]],
    ['button', 0.5, [405, 1080, 675, 1320]],
  ]);
  assert.throws(() => decodeYolo(new Float32Array(6), [1, 300, 6, 1], { names: [], confidence: 0.25, iou: 0.7, box: lb, width: 1, height: 1 }), /YOLO export layout \[1, 4 \+ classes, anchors\]/);
});

test('tiles: Ferret-UI halves by orientation; MM1.5 grid 4 ≤ rows·cols ≤ 16, least padding, else least resolution loss', () => {
  assert.deepEqual(screenTiles(1080, 2400).tiles.map((t) => [t.x, t.y, t.width, t.height]), [[0, 0, 1080, 1200], [0, 1200, 1080, 1200], [0, 0, 1080, 2400]]);
  assert.deepEqual(screenTiles(2560, 1600).tiles.map((t) => [t.x, t.y, t.width, t.height]), [[0, 0, 1280, 1600], [1280, 0, 1280, 1600], [0, 0, 2560, 1600]]);
  // A4 at 300 dpi on Florence-2's 768: nothing up to 16 cells holds it whole; 5 rows × 3 columns lose the least.
  assert.deepEqual(chooseGrid(2480, 3508, 768), { rows: 5, cols: 3, scale: 2304 / 2480 });
  // 1500×1500 on 768: 2×2 holds it with the least padding.
  assert.deepEqual([chooseGrid(1500, 1500, 768).rows, chooseGrid(1500, 1500, 768).cols], [2, 2]);
  const a4 = planTiles(2480, 3508, { tiles: -1, screen: false, input: 768 })!;
  assert.equal(a4.tiles.length, 16, '15 sub-images and the overview, last');
  assert.deepEqual(a4.tiles.at(-1), { x: 0, y: 0, width: 2480, height: 3508, row: -1, col: -1 });
  // auto is off for small images and for models with dynamic resolution; N is honoured anyway.
  assert.equal(planTiles(800, 600, { tiles: -1, screen: true, input: 640 }), undefined);
  assert.equal(planTiles(2480, 3508, { tiles: -1, screen: false, input: undefined }), undefined);
  assert.equal(planTiles(2480, 3508, { tiles: 4, screen: false, input: undefined })!.tiles.length, 5);
  const handle = { engine: 'local', ref: 'q', info: { id: 'q' }, dialect: 'qwen2_vl' as const, capabilities: [], needsImage: false };
  const warnings: string[] = [];
  assert.equal(tilingFor('ground', 4, handle, { width: 2480, height: 3508 }, 1, warnings), undefined);
  assert.match(warnings[0]!, /tiles=4 was not used/);
});

test('merge: a line cut by a seam is one line again, overview boxes give way to the parts, nothing is doubled', () => {
  const plan = planTiles(2000, 1000, { tiles: 2, screen: true, input: 640 })!;
  const [left, right, overview] = plan.tiles as [typeof plan.tiles[0], typeof plan.tiles[0], typeof plan.tiles[0]];
  const merged = mergeTiled([
    { tile: left, regions: [{ image: 1, label: 'Hello', kind: 'quad', coords: [900, 100, 1000, 100, 1000, 130, 900, 130], type: 'text' }, { image: 1, label: 'alone', kind: 'box', coords: [10, 10, 50, 50] }] },
    { tile: right, regions: [{ image: 1, label: 'world', kind: 'quad', coords: [1000, 102, 1100, 102, 1100, 131, 1000, 131], type: 'text' }] },
    { tile: overview, regions: [{ image: 1, label: 'Hello world', kind: 'quad', coords: [898, 98, 1102, 98, 1102, 133, 898, 133], type: 'text' }, { image: 1, label: 'missed', kind: 'box', coords: [1500, 800, 1600, 900] }] },
  ]);
  assert.deepEqual(merged.map((r) => [r.label, r.coords]).sort(), [
    ['Hello world', [900, 100, 1100, 100, 1100, 131, 900, 131]],
    ['alone', [10, 10, 50, 50]],
    ['missed', [1500, 800, 1600, 900]],
  ]);
});

test('crops are cut from the upright image and padded past its edge', async () => {
  const upright = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#000000' } }).composite([{ input: { create: { width: 10, height: 10, channels: 3, background: '#ffffff' } }, left: 280, top: 5 }]).png().toBuffer();
  const stored = await sharp(upright).rotate(270).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  const [crop] = await cropTiles(stored, [{ x: 250, y: 0, width: 100, height: 50, row: 0, col: 0 }]);
  const { data, info } = await sharp(crop).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [100, 50]);
  const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
  assert.ok(at(35, 10) > 200, 'the white mark at x 280 is at 30..40 of the crop');
  assert.ok(at(80, 10) < 20, 'past the image edge is black padding');
});
