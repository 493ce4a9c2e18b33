// YOLO-layout ONNX detectors (Ultralytics YOLOv8/YOLO11 exports, OmniParser's icon detector): one session, input
// `images` [1, 3, H, W] (RGB 0–1, letterboxed), output [1, 4 + classes, anchors] (cx, cy, w, h in input pixels,
// then one score per class). Run by the model host on onnxruntime-node directly (host/direct.ts), not through
// transformers.js. The native modules load on first use only: this file is also read by the resolver.
import { readFileSync } from 'node:fs';
import { LoupeError } from '../../../common/errors';
import { boxIou } from '../../../common/regions';
import { loadSharp } from '../../../images/sharp';
import type { Detection } from '../../dialects/detections';
import { DETECTOR_TASKS } from '../../dialects/prompts';
import type { DirectFamily } from './types';

export const yolo: DirectFamily = {
  family: 'yolo',
  direct: true,
  // onnx-community's OmniParser export says `yolov8`; Ultralytics folders without a config.json are found by resolve.ts.
  modelTypes: { yolov8: 'detections', yolo11: 'detections', yolo: 'detections' },
  modules: ['model'],
  tasks: DETECTOR_TASKS,
  multiImage: false,
  needsImage: true,
};

/** Ultralytics' predict defaults. */
export const DEFAULT_CONFIDENCE = 0.25;
export const DEFAULT_IOU = 0.7;
const MAX_DETECTIONS = 300;
/** Ultralytics pads the letterbox with grey 114. */
const PAD = 114;

// ---------- ONNX metadata (class names, input size) ----------

/**
 * The model's `metadata_props` (ModelProto field 14): Ultralytics writes `names`, `imgsz`, `stride`, `task` there.
 * onnxruntime-node does not expose custom metadata, so the top level of the protobuf is walked here; the graph
 * (field 7) is skipped by its length, never decoded.
 */
export function onnxMetadata(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let p = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (p >= bytes.length) throw new Error('truncated varint');
      const b = bytes[p++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  const utf8 = new TextDecoder();
  while (p < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const len = varint();
      const end = p + len;
      if (field === 14) {
        let key = '';
        let value = '';
        while (p < end) {
          const t = varint();
          const l = varint();
          const s = utf8.decode(bytes.subarray(p, p + l));
          p += l;
          if (t >> 3 === 1) key = s;
          else if (t >> 3 === 2) value = s;
        }
        if (key) out[key] = value;
      }
      p = end;
    } else throw new Error(`unexpected protobuf wire type ${wire}`);
  }
  return out;
}

/** Ultralytics' `names` metadata is a Python dict repr: `{0: 'icon', 1: 'text box'}`. */
export function parseNames(repr: string | undefined): string[] {
  if (!repr) return [];
  const names: string[] = [];
  for (const m of repr.matchAll(/(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g)) names[Number(m[1])] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  return Array.from(names, (n, i) => n ?? `class ${i}`);
}

// ---------- letterbox, decode, NMS (pure) ----------

export interface Letterbox {
  /** Size of the image inside the input, before padding. */
  width: number;
  height: number;
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Ultralytics' letterbox geometry: scale to fit, keep the aspect, pad evenly (the extra pixel on the bottom/right). */
export function letterbox(width: number, height: number, inW: number, inH: number): Letterbox {
  const r = Math.min(inW / width, inH / height);
  const w = Math.max(1, Math.round(width * r));
  const h = Math.max(1, Math.round(height * r));
  const dw = (inW - w) / 2;
  const dh = (inH - h) / 2;
  const top = Math.max(0, Math.round(dh - 0.1));
  const left = Math.max(0, Math.round(dw - 0.1));
  return { width: w, height: h, left, top, right: inW - w - left, bottom: inH - h - top };
}

/**
 * Raw output [1, 4 + classes, anchors] (or [1, anchors, 4 + classes]) → boxes in original pixels: best class per
 * anchor, confidence threshold, per-class non-maximum suppression, undone letterbox, clamped to the image.
 */
export function decodeYolo(
  data: Float32Array,
  dims: readonly number[],
  o: { names: string[]; confidence: number; iou: number; box: Letterbox; width: number; height: number },
): Detection[] {
  if (dims.length !== 3 || dims[0] !== 1) throw new LoupeError('unsupported-model', `the detector's output is [${dims.join(', ')}]; Loupe reads the YOLO export layout [1, 4 + classes, anchors]. Export with Ultralytics' model.export(format="onnx") (without nms=True).`);
  const known = o.names.length;
  // [1, C, N] normally; a transposed export has the channels last.
  const transposed = known > 0 ? dims[2] === 4 + known && dims[1] !== 4 + known : dims[1]! > dims[2]!;
  const channels = transposed ? dims[2]! : dims[1]!;
  const anchors = transposed ? dims[1]! : dims[2]!;
  if (channels < 5) throw new LoupeError('unsupported-model', `the detector's output has ${channels} channels per anchor; a YOLO export has 4 box values plus one score per class.`);
  const at = (c: number, a: number) => (transposed ? data[a * channels + c]! : data[c * anchors + a]!);
  const cand: { box: number[]; score: number; cls: number }[] = [];
  for (let a = 0; a < anchors; a++) {
    let best = 0;
    let cls = 0;
    for (let c = 4; c < channels; c++) {
      const s = at(c, a);
      if (s > best) [best, cls] = [s, c - 4];
    }
    if (!(best >= o.confidence)) continue;
    const cx = at(0, a);
    const cy = at(1, a);
    const w = at(2, a);
    const h = at(3, a);
    cand.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score: best, cls });
  }
  cand.sort((x, y) => y.score - x.score);
  const kept: typeof cand = [];
  for (const c of cand) {
    if (kept.length >= MAX_DETECTIONS) break;
    if (kept.some((k) => k.cls === c.cls && boxIou(k.box, c.box) > o.iou)) continue;
    kept.push(c);
  }
  const sx = o.width / o.box.width;
  const sy = o.height / o.box.height;
  const out: Detection[] = [];
  for (const k of kept) {
    const x1 = Math.min(o.width, Math.max(0, (k.box[0]! - o.box.left) * sx));
    const y1 = Math.min(o.height, Math.max(0, (k.box[1]! - o.box.top) * sy));
    const x2 = Math.min(o.width, Math.max(0, (k.box[2]! - o.box.left) * sx));
    const y2 = Math.min(o.height, Math.max(0, (k.box[3]! - o.box.top) * sy));
    if (x2 - x1 <= 0 || y2 - y1 <= 0) continue;
    out.push({ label: o.names[k.cls] ?? `class ${k.cls}`, score: k.score, box: [x1, y1, x2, y2] });
  }
  return out;
}

// ---------- the session ----------

type Ort = typeof import('onnxruntime-node');

export interface DetectorRun {
  detections: Detection[];
  /** The model input size. */
  inputWidth: number;
  inputHeight: number;
  preprocessMs: number;
  runMs: number;
}

export class YoloDetector {
  private constructor(
    private readonly ort: Ort,
    private readonly session: import('onnxruntime-node').InferenceSession,
    readonly names: string[],
    readonly inputWidth: number,
    readonly inputHeight: number,
  ) {}

  /** Creates the session on one execution provider; class names and input size from the model's metadata. */
  static async load(file: string, o: { device: string; threads: number; config?: Record<string, unknown>; preprocessor?: Record<string, unknown> }): Promise<YoloDetector> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as Ort;
    const bytes = readFileSync(file);
    let meta: Record<string, string> = {};
    try {
      meta = onnxMetadata(bytes);
    } catch {
      // Unreadable metadata only costs the class names; the session below reports a broken file.
    }
    const session = await ort.InferenceSession.create(bytes, { executionProviders: [o.device as 'cpu'], intraOpNumThreads: o.threads, graphOptimizationLevel: 'all' });
    const id2label = o.config?.id2label as Record<string, string> | undefined;
    const names = parseNames(meta.names).length ? parseNames(meta.names) : id2label ? Object.entries(id2label).sort((a, b) => Number(a[0]) - Number(b[0])).map(([, v]) => v) : [];
    const [inW, inH] = inputSize(session, meta, o.preprocessor);
    if (session.inputNames.length !== 1) throw new LoupeError('unsupported-model', `the detector takes ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); a YOLO export takes one image tensor [1, 3, H, W].`);
    return new YoloDetector(ort, session, names, inW, inH);
  }

  /** Letterboxes an upright RGB image with sharp, runs the session and decodes its boxes into the image's pixels. */
  async detect(rgb: Buffer, width: number, height: number, pixelWidth: number, pixelHeight: number, o: { confidence: number; iou: number }): Promise<DetectorRun> {
    const t0 = performance.now();
    const sharp = await loadSharp();
    const lb = letterbox(width, height, this.inputWidth, this.inputHeight);
    let img = sharp(rgb, { raw: { width: pixelWidth, height: pixelHeight, channels: 3 } });
    if (pixelWidth !== lb.width || pixelHeight !== lb.height) img = img.resize(lb.width, lb.height, { fit: 'fill', kernel: 'linear' });
    const padded = await img
      .extend({ top: lb.top, bottom: lb.bottom, left: lb.left, right: lb.right, background: { r: PAD, g: PAD, b: PAD } })
      .raw()
      .toBuffer();
    const plane = this.inputWidth * this.inputHeight;
    const chw = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      chw[i] = padded[i * 3]! / 255;
      chw[plane + i] = padded[i * 3 + 1]! / 255;
      chw[2 * plane + i] = padded[i * 3 + 2]! / 255;
    }
    const t1 = performance.now();
    const feeds = { [this.session.inputNames[0]!]: new this.ort.Tensor('float32', chw, [1, 3, this.inputHeight, this.inputWidth]) };
    const out = await this.session.run(feeds);
    const t2 = performance.now();
    const y = out[this.session.outputNames[0]!]!;
    const detections = decodeYolo(y.data as Float32Array, y.dims, { names: this.names, confidence: o.confidence, iou: o.iou, box: lb, width, height });
    return { detections, inputWidth: this.inputWidth, inputHeight: this.inputHeight, preprocessMs: t1 - t0, runMs: t2 - t1 };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Input size: Ultralytics' `imgsz`, else a fixed input shape, else the preprocessor's size, else 640. */
function inputSize(session: import('onnxruntime-node').InferenceSession, meta: Record<string, string>, pre?: Record<string, unknown>): [number, number] {
  const imgsz = meta.imgsz ? (JSON.parse(meta.imgsz) as number[]) : undefined;
  if (imgsz?.length === 2) return [imgsz[1]!, imgsz[0]!];
  const shape = (session as unknown as { inputMetadata?: { shape?: (number | string)[] }[] }).inputMetadata?.[0]?.shape;
  if (shape?.length === 4 && typeof shape[2] === 'number' && typeof shape[3] === 'number' && shape[2] > 0) return [shape[3], shape[2]];
  const size = pre?.size as { width?: number; height?: number; shortest_edge?: number } | undefined;
  if (size?.width && size.height) return [size.width, size.height];
  return [640, 640];
}
