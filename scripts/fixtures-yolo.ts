// tiny-yolo: a scripted stand-in for a YOLOv8 detector export (onnx-community/OmniParser-icon_detect_640x640 and
// Ultralytics' `model.export(format="onnx")`): input `images` [1, 3, 640, 640], output `output0` [1, 4 + 2, 8400]
// (cx, cy, w, h in input pixels, then one score per class, over the 80² + 40² + 20² anchors of strides 8, 16, 32),
// class names and input size in the model's metadata the way Ultralytics writes them. The graph finds bright marks
// exactly instead of learning them, so tests can assert boxes to the pixel. Called by scripts/fixtures.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Graph, T } from './onnx-graph';

const S = 640;
export const TINY_YOLO_NAMES = ['icon', 'button'];
/** Scores the graph gives: a mark's box, its duplicate on the stride-16 level (NMS removes it), and background noise. */
export const TINY_YOLO_SCORES = { mark: 0.9, duplicate: 0.6, noise: 0.1 };

function graph(): Graph {
  const g = new Graph();
  const images = g.input('images', T.FLOAT, [1, 3, S, S]);
  const f = (v: number) => g.f32([v], [1]);
  // Bright: any channel ≥ 0.75 (white and red marks; Ultralytics' grey padding 114/255 and dark pages are not).
  const m = g.boolF(g.op('GreaterOrEqual', [g.rmax(images, [1], 1), f(0.75)])); // [1,1,S,S]
  const red = g.sub(g.op('Slice', [images, g.i64([0]), g.i64([1]), g.i64([1])]), g.op('Slice', [images, g.i64([2]), g.i64([3]), g.i64([1])]));
  // x shifted: value at (y, x + dx) (dx > 0 looks right, < 0 left), zero outside.
  const shift = (x: string, dx: number, dy: number) => {
    const pads = [0, 0, Math.max(0, -dy), Math.max(0, -dx), 0, 0, Math.max(0, dy), Math.max(0, dx)];
    const padded = g.op('Pad', [x, g.i64(pads), f(0)]);
    const y0 = Math.max(0, dy);
    const x0 = Math.max(0, dx);
    return g.op('Slice', [padded, g.i64([y0, x0]), g.i64([y0 + S, x0 + S]), g.i64([2, 3])]);
  };
  const one = f(1);
  // Top-left corners of bright runs.
  const corner = g.mul(g.mul(m, g.sub(one, shift(m, -1, 0))), g.sub(one, shift(m, 0, -1)));
  // Run lengths right and down by doubling: R2k(x) = Rk(x) + [Rk(x) = k]·Rk(x + k), exact up to 1024.
  const run = (dx: number, dy: number) => {
    let r = m;
    for (let k = 1; k < 1024; k *= 2) r = g.add(r, g.mul(g.boolF(g.op('Equal', [r, f(k)])), shift(r, dx * k, dy * k)));
    return g.reshape(r, [S * S]);
  };
  const runW = run(1, 0);
  const runH = run(0, 1);
  const redFlat = g.reshape(red, [S * S]);
  // Corner position encoded in the pooled value (index + 1 < 2^24: exact in float32).
  const index = g.reshape(g.op('Range', [g.f32([0], []), g.f32([S * S], []), g.f32([1], [])]), [1, 1, S, S]);
  const coded = g.mul(corner, g.add(index, one));
  const level = (stride: number, score: number) => {
    const n = (S / stride) ** 2;
    const v = g.reshape(g.op('MaxPool', [coded], { kernel_shape: [stride, stride], strides: [stride, stride] }), [n]);
    const present = g.boolF(g.op('Greater', [v, f(0)]));
    const idxF = g.op('Max', [g.sub(v, one), f(0)]);
    const idx = g.cast(idxF, T.INT64);
    const y = g.op('Floor', [g.div(idxF, f(S))]);
    const x = g.sub(idxF, g.mul(y, f(S)));
    const w = g.op('Gather', [runW, idx], { axis: 0 });
    const h = g.op('Gather', [runH, idx], { axis: 0 });
    const isButton = g.boolF(g.op('Greater', [g.op('Gather', [redFlat, idx], { axis: 0 }), f(0.3)]));
    // Like a trained detector, nothing smaller than 4×4 input pixels (glyph strokes are not elements).
    const big = g.mul(g.boolF(g.op('GreaterOrEqual', [w, f(4)])), g.boolF(g.op('GreaterOrEqual', [h, f(4)])));
    const s = g.mul(g.mul(present, big), f(score));
    const rows = [g.add(x, g.div(w, f(2))), g.add(y, g.div(h, f(2))), w, h, g.mul(s, g.sub(one, isButton)), g.mul(s, isButton)];
    return g.op('Concat', rows.map((r) => g.unsq(r, [0])), { axis: 0 }); // [6, n]
  };
  // Stride 32: faint full-cell boxes everywhere, below the default confidence.
  const n32 = (S / 32) ** 2;
  const noise = new Float32Array(6 * n32);
  for (let i = 0; i < n32; i++) {
    noise[i] = (i % 20) * 32 + 16;
    noise[n32 + i] = Math.floor(i / 20) * 32 + 16;
    noise[2 * n32 + i] = 32;
    noise[3 * n32 + i] = 32;
    noise[4 * n32 + i] = TINY_YOLO_SCORES.noise;
  }
  const all = g.op('Concat', [level(8, TINY_YOLO_SCORES.mark), level(16, TINY_YOLO_SCORES.duplicate), g.f32(noise, [6, n32])], { axis: 1 });
  g.output(g.unsq(all, [0]), 'output0', T.FLOAT, [1, 4 + TINY_YOLO_NAMES.length, 8400]);
  return g;
}

export function buildTinyYolo(dir: string, variants: Record<string, string>): string[] {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const json = (name: string, v: unknown) => writeFileSync(join(dir, name), JSON.stringify(v, null, 2) + '\n');
  // onnx-community's layout for OmniParser-icon_detect_640x640: config.json, preprocessor_config.json, onnx/model*.onnx.
  json('config.json', { _name_or_path: 'loupe/tiny-yolo', model_type: 'yolov8' });
  json('preprocessor_config.json', { do_normalize: false, do_pad: true, do_rescale: true, do_resize: true, rescale_factor: 1 / 255, size: { width: S, height: S } });
  const meta = {
    description: 'Loupe scripted fixture tiny-yolo',
    author: 'loupe-fixtures',
    task: 'detect',
    stride: '32',
    batch: '1',
    imgsz: `[${S}, ${S}]`,
    names: `{${TINY_YOLO_NAMES.map((n, i) => `${i}: '${n}'`).join(', ')}}`,
    'loupe.fixture': 'tiny-yolo',
  };
  const g = graph();
  writeFileSync(join(dir, 'onnx', 'model.onnx'), g.encode('main_graph', { producer: 'loupe-fixtures', doc: 'Loupe scripted fixture: tiny-yolo', meta }));
  for (const suffix of Object.values(variants)) writeFileSync(join(dir, 'onnx', `model${suffix}.onnx`), g.encode('main_graph', { producer: 'loupe-fixtures', doc: 'Loupe scripted fixture: tiny-yolo', meta }));
  return [
    '# tiny-yolo (generated by `scripts/fixtures-yolo.ts`, do not edit)',
    '',
    'A scripted stand-in for a YOLOv8 detector export (`onnx-community/OmniParser-icon_detect_640x640`, Ultralytics `format="onnx"`):',
    `input \`images\` [1, 3, ${S}, ${S}] (RGB 0–1, letterboxed), output \`output0\` [1, 6, 8400]: cx, cy, w, h in input pixels, then one score per`,
    `class (${TINY_YOLO_NAMES.map((n, i) => `${i} \`${n}\``).join(', ')}), over the anchors of strides 8, 16 and 32 (80² + 40² + 20²). Metadata as Ultralytics writes it:`,
    '`names` (a Python dict repr), `imgsz`, `stride`, `task`.',
    '',
    '## Scripted boxes',
    '',
    '- A pixel is bright when any channel is ≥ 0.75. Each top-left corner of a bright run is a mark; its box spans the run of bright',
    '  pixels to its right and below it, exactly, in input pixels (a bright rectangle gives its own box). Marks under 4×4 input pixels are dropped.',
    `- Stride 8: one anchor per 8×8 cell holding a corner, score ${TINY_YOLO_SCORES.mark}; class \`button\` when the corner pixel's red minus blue is > 0.3, else \`icon\`.`,
    `- Stride 16: the same box again at score ${TINY_YOLO_SCORES.duplicate} (non-maximum suppression must drop it).`,
    `- Stride 32: a 32×32 box on every cell at score ${TINY_YOLO_SCORES.noise} (the confidence threshold must drop them).`,
    '',
  ];
}
