// transformers.js's q4 exports write com.microsoft MatMulNBits nodes without `accuracy_level`, so onnxruntime's CPU
// kernel dequantizes to fp32 and multiplies in fp32. With accuracy_level 4 it quantizes the activations to int8 per
// block and uses the CPU's int8 dot products (AVX2/AVX-512 VNNI, ARM SDOT): about 2× faster decode here, what
// llama.cpp does for Q4_0 (activations as Q8_0) and what onnxruntime-genai's builder sets for CPU int4 models.
// No session option changes it for nodes already in a model (`session.qdq_matmulnbits_accuracy_level` only applies
// to DequantizeLinear→MatMul fusion), so the model host adds the attribute to the model bytes before onnxruntime
// sees them. Only length prefixes are rewritten: the weights are copied as they are, never decoded.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** int8 activations, int32 accumulation (onnxruntime's MatMulNBits accuracy levels: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8). */
export const INT8_ACCURACY = 4;

const LEN = 2;
const VARINT = 0;

function readVarint(b: Uint8Array, pos: number): [value: number, next: number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const byte = b[pos++]!;
    v += (byte & 0x7f) * mul;
    if (!(byte & 0x80)) return [v, pos];
    mul *= 128;
  }
}

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

interface Field { no: number; wire: number; start: number; end: number; body: number }

/** The top-level fields of one protobuf message: where each starts, where its payload (`body`) starts and ends. */
function fields(b: Uint8Array, from: number, to: number): Field[] {
  const out: Field[] = [];
  let p = from;
  while (p < to) {
    const start = p;
    const [key, afterKey] = readVarint(b, p);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    let body = afterKey;
    let end: number;
    if (wire === VARINT) end = readVarint(b, afterKey)[1];
    else if (wire === 1) end = afterKey + 8;
    else if (wire === 5) end = afterKey + 4;
    else if (wire === LEN) {
      const [len, afterLen] = readVarint(b, afterKey);
      body = afterLen;
      end = afterLen + len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (end > to) throw new Error('truncated protobuf');
    out.push({ no, wire, start, end, body });
    p = end;
  }
  return out;
}

/** Output as a list of byte pieces, so the large initializers are only sliced, never copied until the end. */
type Pieces = Uint8Array[];
const size = (p: Pieces) => p.reduce((s, x) => s + x.length, 0);
const lenField = (no: number, body: Pieces): Pieces => [Uint8Array.from([...varint(no * 8 + LEN), ...varint(size(body))]), ...body];
const text = (b: Uint8Array, f: Field) => Buffer.from(b.buffer, b.byteOffset + f.body, f.end - f.body).toString('utf8');

/** AttributeProto { name: "accuracy_level", type: INT, i: level }. */
function accuracyAttribute(level: number): Uint8Array {
  const name = Buffer.from('accuracy_level');
  return Uint8Array.from([0x0a, name.length, ...name, 0xa0, 0x01, 2, 0x18, ...varint(level)]);
}

interface Count { nodes: number }

// NodeProto: 4 op_type, 5 attribute, 7 domain. AttributeProto: 1 name, 6 g (graph), 11 graphs. GraphProto: 1 node.
function rewriteGraph(b: Uint8Array, from: number, to: number, level: number, count: Count): Pieces | undefined {
  let changed = false;
  const out: Pieces = [];
  for (const f of fields(b, from, to)) {
    const node = f.no === 1 && f.wire === LEN ? rewriteNode(b, f.body, f.end, level, count) : undefined;
    if (node) {
      out.push(...lenField(1, node));
      changed = true;
    } else out.push(b.subarray(f.start, f.end));
  }
  return changed ? out : undefined;
}

function rewriteNode(b: Uint8Array, from: number, to: number, level: number, count: Count): Pieces | undefined {
  const fs = fields(b, from, to);
  const opType = fs.find((f) => f.no === 4);
  const domain = fs.find((f) => f.no === 7);
  const isNbits = opType && text(b, opType) === 'MatMulNBits' && domain && text(b, domain) === 'com.microsoft';
  let changed = false;
  const out: Pieces = [];
  let hasLevel = false;
  for (const f of fs) {
    if (f.no === 5 && f.wire === LEN) {
      const attr = fields(b, f.body, f.end);
      const name = attr.find((a) => a.no === 1);
      if (name && text(b, name) === 'accuracy_level') hasLevel = true;
      // Subgraphs (If/Loop/Scan bodies, e.g. merged decoders with a use_cache branch).
      const sub: Pieces = [];
      let subChanged = false;
      for (const a of attr) {
        const g = (a.no === 6 || a.no === 11) && a.wire === LEN ? rewriteGraph(b, a.body, a.end, level, count) : undefined;
        if (g) {
          sub.push(...lenField(a.no, g));
          subChanged = true;
        } else sub.push(b.subarray(a.start, a.end));
      }
      if (subChanged) {
        out.push(...lenField(5, sub));
        changed = true;
        continue;
      }
    }
    out.push(b.subarray(f.start, f.end));
  }
  if (isNbits && !hasLevel) {
    // An explicit accuracy_level (any value) is the exporter's choice and stays.
    out.push(...lenField(5, [accuracyAttribute(level)]));
    count.nodes++;
    changed = true;
  }
  return changed ? out : undefined;
}

/**
 * The model with `accuracy_level` set on every MatMulNBits node that has none, or undefined when there is nothing to
 * change (no such node). ModelProto field 7 is the graph; everything else is copied byte for byte.
 */
export function withNbitsAccuracy(model: Uint8Array, level = INT8_ACCURACY): { bytes: Uint8Array; nodes: number } | undefined {
  // Cheap test first: a model without the op name anywhere has no such node.
  if (Buffer.from(model.buffer, model.byteOffset, model.byteLength).indexOf('MatMulNBits') < 0) return undefined;
  const count: Count = { nodes: 0 };
  const out: Pieces = [];
  let changed = false;
  for (const f of fields(model, 0, model.length)) {
    const g = f.no === 7 && f.wire === LEN ? rewriteGraph(model, f.body, f.end, level, count) : undefined;
    if (g) {
      out.push(...lenField(7, g));
      changed = true;
    } else out.push(model.subarray(f.start, f.end));
  }
  if (!changed) return undefined;
  return { bytes: Buffer.concat(out), nodes: count.nodes };
}

/** A model with external data (`x.onnx_data`, `x.onnx.data`…) must be loaded from its path, so it is left alone. */
function hasExternalData(path: string): boolean {
  const name = basename(path);
  try {
    return readdirSync(dirname(path)).some((f) => f.startsWith(`${name}_data`) || f.startsWith(`${name}.data`));
  } catch {
    return false;
  }
}

type Create = (model: unknown, options?: unknown) => Promise<unknown>;

/**
 * While `fn` runs, onnxruntime-node sessions created from an .onnx path get MatMulNBits `accuracy_level` 4 (see the
 * top of this file). `LOUPE_NBITS_ACCURACY=0` turns it off (e.g. to measure the difference); another number sets
 * that level. Reports each rewritten file through `onPatch`.
 */
export async function withInt8Nbits<T>(fn: () => Promise<T>, onPatch?: (file: string, nodes: number) => void, env = process.env.LOUPE_NBITS_ACCURACY): Promise<T> {
  const level = env === undefined || env === '' ? INT8_ACCURACY : Number(env);
  if (!Number.isInteger(level) || level <= 0) return fn();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as { InferenceSession: { create: Create } };
  const original = ort.InferenceSession.create;
  ort.InferenceSession.create = async function (this: unknown, model: unknown, ...rest: unknown[]) {
    if (typeof model === 'string' && model.endsWith('.onnx') && existsSync(model) && !hasExternalData(model)) {
      let patched: ReturnType<typeof withNbitsAccuracy>;
      try {
        patched = withNbitsAccuracy(readFileSync(model), level);
      } catch {
        patched = undefined; // unreadable as one buffer or not a plain protobuf: onnxruntime gets the path and says what is wrong
      }
      if (patched) {
        onPatch?.(model, patched.nodes);
        return original.call(this, patched.bytes, ...(rest as [unknown]));
      }
    }
    return original.call(this, model, ...(rest as [unknown]));
  } as Create;
  try {
    return await fn();
  } finally {
    ort.InferenceSession.create = original;
  }
}
