// Seeded weights and symmetric 4-bit block quantization shared by the q4 bench model (ONNX MatMulNBits,
// scripts/bench-model.ts) and its GGUF twin (Q4_0, scripts/bench-gguf.ts), so both engines hold the very same
// numbers: each block of 32 weights along K is one scale and 32 codes in 0..15, value = (code − 8) × scale.
// The scale is rounded to fp16 before the codes are chosen, so GGUF's fp16 scale and ONNX's fp32 scale are equal.

/** Block size of transformers.js's q4 exports (MatMul4BitsQuantizer's default there) and of GGUF's Q4_0. */
export const Q4_BLOCK = 32;

/** FNV-1a of a tensor name mixed with the model seed: each tensor's stream is independent of generation order. */
export function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0 || 1;
}

/** n uniform values with std 1/sqrt(fanIn) (xorshift32). */
export function uniform(seed: number, n: number, fanIn: number): Float32Array {
  let s = seed >>> 0 || 1;
  const a = Math.sqrt(3 / fanIn) * 2 / 4294967296;
  const b = Math.sqrt(3 / fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s * a - b;
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits of a float, round to nearest even (finite inputs of a normal weight range). */
export function halfBits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: shift the implicit bit in, round to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** A [rows][cols] matrix quantized along cols in blocks of 32: codes 0..15 (one per byte here), fp16-exact scales. */
export interface Q4Matrix {
  rows: number;
  cols: number;
  codes: Uint8Array;
  scales: Float32Array;
}

/**
 * Symmetric round-to-nearest, as ggml's Q4_0 reference does: the value of largest magnitude m in a block maps to
 * code 0 (scale = m / −8), the rest to trunc(x / scale + 8.5) clamped to 15.
 */
export function quantizeQ4(w: Float32Array, rows: number, cols: number): Q4Matrix {
  if (cols % Q4_BLOCK) throw new Error(`cols ${cols} is not a multiple of ${Q4_BLOCK}`);
  const blocks = (rows * cols) / Q4_BLOCK;
  const codes = new Uint8Array(rows * cols);
  const scales = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const o = b * Q4_BLOCK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < Q4_BLOCK; j++) {
      const v = w[o + j]!;
      if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; }
    }
    const d = halfToFloat(halfBits(max / -8));
    scales[b] = d;
    const id = d ? 1 / d : 0;
    for (let j = 0; j < Q4_BLOCK; j++) codes[o + j] = Math.min(15, Math.max(0, Math.trunc(w[o + j]! * id + 8.5)));
  }
  return { rows, cols, codes, scales };
}

/** The fp32 values a Q4Matrix stands for, row-major [rows][cols]. */
export function dequantizeQ4(q: Q4Matrix): Float32Array {
  const out = new Float32Array(q.rows * q.cols);
  for (let i = 0; i < out.length; i++) out[i] = (q.codes[i]! - 8) * q.scales[(i / Q4_BLOCK) | 0]!;
  return out;
}

/** onnxruntime MatMulNBits's B input: uint8 [N][K/32][16], two codes per byte, the even element in the low nibble. */
export function packMatMulNBits(q: Q4Matrix): Uint8Array {
  const out = new Uint8Array((q.rows * q.cols) / 2);
  for (let i = 0; i < out.length; i++) out[i] = q.codes[2 * i]! | (q.codes[2 * i + 1]! << 4);
  return out;
}

/** ggml's block_q4_0 (18 bytes: fp16 d, then qs[16] with element j in the low nibble and j + 16 in the high one). */
export function packQ4_0(q: Q4Matrix): Uint8Array {
  const blocks = q.scales.length;
  const out = new Uint8Array(blocks * 18);
  for (let b = 0; b < blocks; b++) {
    const o = b * 18;
    const h = halfBits(q.scales[b]!);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    const c = b * Q4_BLOCK;
    for (let j = 0; j < 16; j++) out[o + 2 + j] = q.codes[c + j]! | (q.codes[c + j + 16]! << 4);
  }
  return out;
}
