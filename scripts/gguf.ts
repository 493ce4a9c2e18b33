// A small GGUF (v3) writer, after ggml's docs/gguf.md: header, typed metadata, tensor infos, then tensor data
// aligned to `general.alignment` (32). Tensors are produced one at a time by callbacks and streamed to the file, so
// a ~1 GB model never sits in memory whole. Little-endian only.
import { closeSync, openSync, writeSync } from 'node:fs';

const ALIGNMENT = 32;

/** ggml_type values used here. */
export const GGML = { F32: 0, F16: 1, Q4_0: 2 } as const;
/** Bytes per block and values per block of each ggml_type used here. */
const TYPE_SIZE: Record<number, [bytes: number, values: number]> = { [GGML.F32]: [4, 1], [GGML.F16]: [2, 1], [GGML.Q4_0]: [18, 32] };

const V = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;

export type MetaValue =
  | { u32: number }
  | { i32: number }
  | { f32: number }
  | { bool: boolean }
  | { str: string }
  | { strs: string[] }
  | { i32s: ArrayLike<number> };

export interface TensorSpec {
  name: string;
  /** ggml order: ne[0] is the innermost (contiguous) dimension, e.g. [n_embd, n_vocab] for token_embd. */
  dims: number[];
  type: number;
  /** The tensor's bytes in ggml's layout for `type`; called once, while writing. */
  data: () => Uint8Array;
}

/** Grows a byte buffer for the header part (metadata and tensor infos). */
class Bytes {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private room(n: number) {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number) { this.room(4); this.buf.writeUInt32LE(v >>> 0, this.length); this.length += 4; }
  i32(v: number) { this.room(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  u64(v: number) { this.room(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  f32(v: number) { this.room(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  u8(v: number) { this.room(1); this.buf[this.length++] = v; }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }
  bytes(): Buffer { return this.buf.subarray(0, this.length); }
}

function writeValue(out: Bytes, v: MetaValue): void {
  if ('u32' in v) { out.u32(V.U32); out.u32(v.u32); }
  else if ('i32' in v) { out.u32(V.I32); out.i32(v.i32); }
  else if ('f32' in v) { out.u32(V.F32); out.f32(v.f32); }
  else if ('bool' in v) { out.u32(V.BOOL); out.u8(v.bool ? 1 : 0); }
  else if ('str' in v) { out.u32(V.STRING); out.str(v.str); }
  else if ('strs' in v) { out.u32(V.ARRAY); out.u32(V.STRING); out.u64(v.strs.length); for (const s of v.strs) out.str(s); }
  else { out.u32(V.ARRAY); out.u32(V.I32); out.u64(v.i32s.length); for (let i = 0; i < v.i32s.length; i++) out.i32(v.i32s[i]!); }
}

export function tensorBytes(dims: number[], type: number): number {
  const [bytes, values] = TYPE_SIZE[type] ?? (() => { throw new Error(`ggml type ${type} is not supported by this writer`); })();
  const n = dims.reduce((a, b) => a * b, 1);
  if (dims[0]! % values) throw new Error(`ne[0] = ${dims[0]} is not a multiple of the block size ${values}`);
  return (n / values) * bytes;
}

const pad = (n: number) => (ALIGNMENT - (n % ALIGNMENT)) % ALIGNMENT;

/** Writes a GGUF v3 file; returns its size in bytes. */
export function writeGguf(path: string, metadata: [string, MetaValue][], tensors: TensorSpec[]): number {
  const head = new Bytes();
  head.u32(0x46554747); // "GGUF" at the byte level
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, value] of metadata) {
    head.str(key);
    writeValue(head, value);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    if (Buffer.byteLength(t.name) > 64) throw new Error(`tensor name longer than 64 bytes: ${t.name}`);
    head.str(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(t.type);
    head.u64(offset);
    const size = tensorBytes(t.dims, t.type);
    sizes.push(size);
    offset += size + pad(size);
  }
  const fd = openSync(path, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    put(head.bytes());
    put(new Uint8Array(pad(pos)));
    tensors.forEach((t, i) => {
      const data = t.data();
      if (data.length !== sizes[i]) throw new Error(`${t.name}: ${data.length} bytes, expected ${sizes[i]}`);
      put(data);
      put(new Uint8Array(pad(data.length)));
    });
    return pos;
  } finally {
    closeSync(fd);
  }
}
