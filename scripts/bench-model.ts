// Generates the benchmark models: transformer-shaped decoders (embeddings, RMSNorm, GQA attention with
// multimodal RoPE and a KV cache, SwiGLU MLP, LM head) in the onnx-community Qwen2-VL layout that
// transformers.js 4.3.1 and Loupe's `qwen2_vl` family load (`onnx/vision_encoder*.onnx`,
// `onnx/embed_tokens*.onnx`, `onnx/decoder_model_merged*.onnx`). Weights are seeded random, so the
// logits are real MatMul outputs, not a script. Not fixtures: the benchmarks in bench/ use them.
//
//   node --import tsx scripts/bench-model.ts [--variant small|q4-2b] [--if-missing] [--out DIR]
//
// Two variants:
// - `small` (bench/.models/bench-qwen2vl): 138 M parameters, fp32, for quick runs (B1–B6).
// - `q4-2b` (bench/.models/bench-qwen2vl-2b-q4): the Qwen2-VL-2B language model's shape (hidden 1536, 28 layers,
//   12 query and 2 KV heads of 128, SwiGLU 8960, vocabulary 151,936, tied embeddings) with 4-bit weights as
//   transformers.js's `q4` exports have them: every MatMul with a constant weight is a com.microsoft MatMulNBits
//   (bits 4, block_size 32, symmetric: no zero points, no accuracy_level attribute), the embedding Gather stays
//   fp32 (onnxruntime's MatMul4BitsQuantizer only rewrites MatMul). Files `*_q4.onnx`. The same seeded weights go to
//   a GGUF for llama.cpp (scripts/bench-gguf.ts, via scripts/q4.ts). B11, and B1/B2 on a model users run.
//
// The tokenizer is tiny-qwen2vl's (the real Qwen2-VL chat template) padded with filler tokens " w<id>" to the
// model's vocabulary.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, T } from './onnx-graph';
import { dequantizeQ4, packMatMulNBits, Q4_BLOCK, quantizeQ4, tensorSeed, uniform, type Q4Matrix } from './q4';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2vl');
export const BENCH_MODEL_DIR = join(ROOT, 'bench', '.models', 'bench-qwen2vl');
export const BENCH_MODEL_2B_DIR = join(ROOT, 'bench', '.models', 'bench-qwen2vl-2b-q4');

/** Model shape. Sized so one fp32 decode step reads ~400 MB of weights: well over 20 ms on 2 CPU cores. */
export const SHAPE = {
  hidden: 1024,
  layers: 6,
  heads: 16,
  kvHeads: 4,
  intermediate: 2816,
  vocab: 32000,
  /** mrope sections (temporal, height, width) over head_dim/2 frequencies, like Qwen2-VL's [16, 24, 24] for 128. */
  mropeSection: [8, 12, 12],
  ropeTheta: 1_000_000,
  eps: 1e-6,
  seed: 20261126,
};
/** The Qwen2-VL-2B language model's shape (Qwen/Qwen2-VL-2B-Instruct config.json). */
export const SHAPE_2B = {
  hidden: 1536,
  layers: 28,
  heads: 12,
  kvHeads: 2,
  intermediate: 8960,
  vocab: 151936,
  mropeSection: [16, 24, 24],
  ropeTheta: 1_000_000,
  eps: 1e-6,
  seed: 20261202,
};
export type Shape = typeof SHAPE;
export type BenchVariant = 'small' | 'q4-2b';
export const VARIANTS: Record<BenchVariant, { dir: string; shape: Shape; dtype: 'fp32' | 'q4'; suffix: string; tied: boolean }> = {
  small: { dir: BENCH_MODEL_DIR, shape: SHAPE, dtype: 'fp32', suffix: '', tied: false },
  'q4-2b': { dir: BENCH_MODEL_2B_DIR, shape: SHAPE_2B, dtype: 'q4', suffix: '_q4', tied: true },
};
const PATCH_DIM = 3 * 2 * 14 * 14; // 1176

/**
 * The q4 model's weights by GGUF tensor name ([rows = N outputs][cols = K inputs], 4-bit blocks along K): the same
 * function feeds the ONNX and the GGUF writer, so both files hold identical numbers. Biases and norms are fp32.
 */
export function q4Weight(shape: Shape, name: string, rows: number, cols: number): Q4Matrix {
  // Embeddings (tied LM head) have std 1, like the small model's; projections std 1/sqrt(fan-in).
  return quantizeQ4(uniform(tensorSeed(shape.seed, name), rows * cols, name === 'token_embd.weight' ? 3 : cols), rows, cols);
}
export function q4Bias(shape: Shape, name: string, n: number): Float32Array {
  return uniform(tensorSeed(shape.seed, name), n, 64);
}
/** Every 4-bit matrix of one decoder layer: GGUF name, rows (N), cols (K). */
export function layerMatrices(shape: Shape, l: number): [string, number, number][] {
  const { hidden: H, heads: NH, kvHeads: KV, intermediate: I } = shape;
  const hd = H / NH;
  return [
    [`blk.${l}.attn_q.weight`, H, H],
    [`blk.${l}.attn_k.weight`, KV * hd, H],
    [`blk.${l}.attn_v.weight`, KV * hd, H],
    [`blk.${l}.attn_output.weight`, H, H],
    [`blk.${l}.ffn_gate.weight`, I, H],
    [`blk.${l}.ffn_up.weight`, I, H],
    [`blk.${l}.ffn_down.weight`, H, I],
  ];
}

// ---------------------------------------------------------------------------------------------

/** Deterministic uniform weights with std 1/sqrt(fanIn) (xorshift32). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number, fanIn: number): Float32Array => {
    const a = Math.sqrt(3 / fanIn);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5; s >>>= 0;
      out[i] = (s / 4294967296 * 2 - 1) * a;
    }
    return out;
  };
}

function rmsNorm(g: Graph, x: string, H: number, eps: number, torchExport = false): string {
  if (torchExport) {
    // As torch.onnx exports Qwen2RMSNorm (x * rsqrt(mean(x^2) + eps) * weight), which onnxruntime fuses.
    const ms = g.op('ReduceMean', [g.op('Pow', [x, g.f32([2], [])])], { axes: [-1], keepdims: 1 });
    const inv = g.div(g.f32([1], []), g.op('Sqrt', [g.add(ms, g.f32([eps], []))]));
    return g.mul(g.f32(new Float32Array(H).fill(1), [H], undefined, true), g.mul(x, inv));
  }
  const ms = g.op('ReduceMean', [g.mul(x, x)], { axes: [-1], keepdims: 1 });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.add(ms, g.f32([eps], [1]))])]);
  return g.mul(g.mul(x, inv), g.f32(new Float32Array(H).fill(1), [H], undefined, true));
}

/** MatMulNBits as onnxruntime's MatMul4BitsQuantizer writes it (symmetric: A, B, scales; K, N, bits, block_size). */
function matMulNBits(g: Graph, x: string, q: Q4Matrix, name: string): string {
  const B = g.u8(packMatMulNBits(q), [q.rows, q.cols / Q4_BLOCK, Q4_BLOCK / 2], `${name}_Q4`);
  const scales = g.f32(q.scales, [q.scales.length], `${name}_scales`);
  g.params += q.rows * q.cols;
  return g.op('MatMulNBits', [x, B, scales], { K: q.cols, N: q.rows, bits: 4, block_size: Q4_BLOCK }, undefined, 'com.microsoft');
}

/** Bytes of a MatMulNBits weight (packed codes + fp32 scales): what a decode step reads. */
const nbitsBytes = (rows: number, cols: number) => (rows * cols) / 2 + (4 * rows * cols) / Q4_BLOCK;

export interface DecoderInfo { params: number; eos: number[] }

interface Built { g: Graph; params: number; weightBytes: number }

function buildDecoder(eosIds: number[], variant: BenchVariant = 'small'): Built {
  const SHAPE = VARIANTS[variant].shape;
  const q4 = variant === 'q4-2b';
  const { hidden: H, layers: L, heads: NH, kvHeads: KV, vocab: V, eps } = SHAPE;
  const hd = H / NH;
  const G = NH / KV;
  const rand = rng(SHAPE.seed);
  const g = new Graph();
  let weightBytes = 0;
  const x0 = g.input('inputs_embeds', T.FLOAT, ['batch_size', 'sequence_length', H]);
  const mask = g.input('attention_mask', T.INT64, ['batch_size', 'total_sequence_length']);
  const pos = g.input('position_ids', T.INT64, [3, 'batch_size', 'sequence_length']);
  const past: [string, string][] = [];
  for (let i = 0; i < L; i++) {
    past.push(['key', 'value'].map((kv) => g.input(`past_key_values.${i}.${kv}`, T.FLOAT, ['batch_size', KV, 'past_sequence_length', hd])) as [string, string]);
  }

  // Multimodal RoPE: frequency j uses the temporal, height or width position by mrope section.
  const half = hd / 2;
  const invFreq = Array.from({ length: half }, (_, j) => 1 / SHAPE.ropeTheta ** ((2 * j) / hd));
  const sel = new Float32Array(3 * half);
  let j = 0;
  SHAPE.mropeSection.forEach((n, k) => {
    for (let e = 0; e < n; e++, j++) sel[k * half + j] = invFreq[j]!;
  });
  const freqs3 = g.mul(g.unsq(g.cast(pos, T.FLOAT), [3]), g.f32(sel, [3, 1, 1, half])); // [3,B,T,half]
  const freqs = g.op('ReduceSum', [freqs3, g.i64([0])], { keepdims: 0 }); // [B,T,half]
  const emb = g.unsq(g.op('Concat', [freqs, freqs], { axis: -1 }), [1]); // [B,1,T,hd]
  const cos = g.op('Cos', [emb]);
  const sin = g.op('Sin', [emb]);
  const rope = (x: string) => {
    const rot = g.op('Concat', [g.op('Neg', [g.slice(x, half, hd, 3)]), g.slice(x, 0, half, 3)], { axis: 3 });
    return g.add(g.mul(x, cos), g.mul(rot, sin));
  };

  // Additive mask [B,1,1,T,S]: padding and causality (query t sits at absolute position S-T+t).
  const tLen = g.op('Shape', [x0], { start: 1, end: 2 });
  const sLen = g.op('Shape', [mask], { start: 1, end: 2 });
  const kIdx = g.op('Range', [g.s64(0), g.op('Squeeze', [sLen, g.i64([0])]), g.s64(1)]); // [S]
  const qIdx = g.add(g.op('Range', [g.s64(0), g.op('Squeeze', [tLen, g.i64([0])]), g.s64(1)]), g.sub(sLen, tLen)); // [T]
  const allowed = g.cast(g.op('LessOrEqual', [g.unsq(kIdx, [0]), g.unsq(qIdx, [1])]), T.FLOAT); // [T,S]
  const NEG = g.f32([-1e9], [1]);
  const one = g.f32([1], [1]);
  const causal = g.mul(g.sub(one, allowed), NEG);
  const pad = g.mul(g.sub(one, g.cast(mask, T.FLOAT)), NEG); // [B,S]
  const bias = g.add(g.unsq(pad, [1, 2, 3]), causal); // [B,1,1,T,S]
  const scale = g.f32([1 / Math.sqrt(hd)], [1]);

  let x = x0;
  for (let l = 0; l < L; l++) {
    const w = (rows: number, cols: number) => g.f32(rand(rows * cols, rows), [rows, cols], `model.layers.${l}.w${g.params}`, true);
    const b = (n: number) => g.f32(rand(n, 64), [n], undefined, true);
    const mats = layerMatrices(SHAPE, l);
    // x [.., K] times a K×N weight: fp32 MatMul (small) or MatMulNBits (q4), bias after it as torch exports Linear.
    const linear = (x: string, i: number, bias: boolean) => {
      const [name, N, K] = mats[i]!;
      let y: string;
      if (q4) {
        y = matMulNBits(g, x, q4Weight(SHAPE, name, N, K), name);
        weightBytes += nbitsBytes(N, K);
      } else {
        y = g.mm(x, w(K, N));
        weightBytes += 4 * K * N;
      }
      if (!bias) return y;
      weightBytes += 4 * N;
      return g.add(y, q4 ? g.f32(q4Bias(SHAPE, name.replace('.weight', '.bias'), N), [N], undefined, true) : b(N));
    };
    const h = rmsNorm(g, x, H, eps, q4);
    const q = linear(h, 0, true);
    const k = linear(h, 1, true);
    const v = linear(h, 2, true);
    const qh = rope(g.tr(g.reshape(q, [0, 0, NH, hd]), [0, 2, 1, 3])); // [B,NH,T,hd]
    const kh = rope(g.tr(g.reshape(k, [0, 0, KV, hd]), [0, 2, 1, 3])); // [B,KV,T,hd]
    const vh = g.tr(g.reshape(v, [0, 0, KV, hd]), [0, 2, 1, 3]);
    const presentDims = ['batch_size', KV, 'total_sequence_length', hd];
    let K: string;
    let Vv: string;
    if (q4) {
      // As torch.onnx exports the cache: the Concat itself is the output (no Identity copying the cache every step).
      K = g.op('Concat', [past[l]![0], kh], { axis: 2 }, `present.${l}.key`);
      Vv = g.op('Concat', [past[l]![1], vh], { axis: 2 }, `present.${l}.value`);
      g.declareOutput(K, T.FLOAT, presentDims);
      g.declareOutput(Vv, T.FLOAT, presentDims);
    } else {
      K = g.op('Concat', [past[l]![0], kh], { axis: 2 }); // [B,KV,S,hd]
      Vv = g.op('Concat', [past[l]![1], vh], { axis: 2 });
      g.output(K, `present.${l}.key`, T.FLOAT, presentDims);
      g.output(Vv, `present.${l}.value`, T.FLOAT, presentDims);
    }
    // Grouped-query attention: [B,KV,G,T,hd] x [B,KV,1,hd,S].
    const q5 = g.reshape(qh, [0, KV, G, -1, hd]);
    const scores = g.add(g.mul(g.mm(q5, g.unsq(g.tr(K, [0, 1, 3, 2]), [2])), scale), bias);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const ctx = g.mm(probs, g.unsq(Vv, [2])); // [B,KV,G,T,hd]
    const merged = g.reshape(g.tr(g.reshape(ctx, [0, NH, -1, hd]), [0, 2, 1, 3]), [0, 0, H]);
    x = g.add(x, linear(merged, 3, false));
    const h2 = rmsNorm(g, x, H, eps, q4);
    const gate = linear(h2, 4, false);
    const up = linear(h2, 5, false);
    const act = g.mul(g.mul(gate, g.op('Sigmoid', [gate])), up); // SiLU(gate) * up
    x = g.add(x, linear(act, 6, false));
  }
  const hf = rmsNorm(g, x, H, eps, q4);
  // LM head. The end tokens get a large negative bias so greedy decoding always runs max_new_tokens.
  const lmBias = new Float32Array(V);
  for (const e of eosIds) lmBias[e] = -1e4;
  // q4: tied to the embeddings, as Qwen2-VL-2B's (tie_word_embeddings): the same 4-bit matrix.
  const head = q4 ? matMulNBits(g, hf, q4Weight(SHAPE, 'token_embd.weight', V, H), 'lm_head.weight') : g.mm(hf, g.f32(rand(H * V, H), [H, V], 'lm_head.weight', true));
  weightBytes += q4 ? nbitsBytes(V, H) : 4 * H * V;
  const logitDims = ['batch_size', 'sequence_length', V];
  if (q4) g.declareOutput(g.op('Add', [head, g.f32(lmBias, [V])], {}, 'logits'), T.FLOAT, logitDims);
  else g.output(g.add(head, g.f32(lmBias, [V])), 'logits', T.FLOAT, logitDims);
  return { g, params: g.params, weightBytes };
}

function buildEmbed(variant: BenchVariant = 'small'): Built {
  const SHAPE = VARIANTS[variant].shape;
  const g = new Graph();
  const ids = g.input('input_ids', T.INT64, ['batch_size', 'sequence_length']);
  // q4: the embedding Gather is not quantized by the q4 export (fp32 table), but its values are the tied 4-bit LM
  // head's, dequantized, so llama.cpp's Q4_0 token_embd rows equal these exactly.
  const table = variant === 'q4-2b' ? dequantizeQ4(q4Weight(SHAPE, 'token_embd.weight', SHAPE.vocab, SHAPE.hidden)) : rng(SHAPE.seed + 1)(SHAPE.vocab * SHAPE.hidden, 3); // std 1
  g.output(g.op('Gather', [g.f32(table, [SHAPE.vocab, SHAPE.hidden], 'embed_tokens.weight', true), ids], { axis: 0 }), 'inputs_embeds', T.FLOAT, ['batch_size', 'sequence_length', SHAPE.hidden]);
  return { g, params: g.params, weightBytes: 4 * SHAPE.hidden };
}

function buildVision(variant: BenchVariant = 'small'): Built {
  const SHAPE = VARIANTS[variant].shape;
  const g = new Graph();
  const px = g.input('pixel_values', T.FLOAT, ['num_patches', PATCH_DIM]);
  g.input('grid_thw', T.INT64, ['num_images', 3]);
  // Patch merger stand-in: 2x2 patches (4 consecutive rows) -> one image token, a real projection.
  const merged = g.reshape(px, [-1, 4 * PATCH_DIM]);
  const feats = variant === 'q4-2b'
    ? matMulNBits(g, merged, q4Weight(SHAPE, 'merger.weight', SHAPE.hidden, 4 * PATCH_DIM), 'merger.weight')
    : g.mm(merged, g.f32(rng(SHAPE.seed + 2)(4 * PATCH_DIM * SHAPE.hidden, 4 * PATCH_DIM), [4 * PATCH_DIM, SHAPE.hidden], 'merger.weight', true));
  g.output(feats, 'image_features', T.FLOAT, ['num_image_tokens', SHAPE.hidden]);
  return { g, params: g.params, weightBytes: 0 };
}

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const writeJson = (dir: string, name: string, obj: unknown) => writeFileSync(join(dir, name), JSON.stringify(obj, null, 2) + '\n');

export interface BenchModelInfo {
  dir: string;
  variant: BenchVariant;
  /** Loupe's dtype for it and the ONNX file suffix (`_q4`). */
  dtype: 'fp32' | 'q4';
  suffix: string;
  shape: Shape;
  params: { decoder: number; embed: number; vision: number };
  bytes: { decoder: number; embed: number; vision: number };
  /** Decoder weight bytes one decode step reads (every matrix, packed codes and scales for q4; biases and norms). */
  decodeWeightBytes: number;
  eos: number[];
}

export function generateBenchModel(dir?: string, variant: BenchVariant = 'small'): BenchModelInfo {
  const { shape: SHAPE, dtype, suffix, tied } = VARIANTS[variant];
  dir ??= VARIANTS[variant].dir;
  if (!existsSync(join(FIXTURE, 'tokenizer.json'))) throw new Error(`${FIXTURE} is missing: run npm run fixtures first`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const tok = readJson(join(FIXTURE, 'tokenizer.json'));
  const used = new Set<number>([...Object.values(tok.model.vocab as Record<string, number>), ...tok.added_tokens.map((a: { id: number }) => a.id)]);
  const firstFree = Math.max(...used) + 1;
  for (let id = firstFree; id < SHAPE.vocab; id++) tok.model.vocab[`\u0120w${id}`] = id; // "Ġw123" decodes to " w123"
  writeJson(dir, 'tokenizer.json', tok);
  for (const f of ['tokenizer_config.json', 'preprocessor_config.json', 'chat_template.json']) writeFileSync(join(dir, f), readFileSync(join(FIXTURE, f)));
  const cfg = readJson(join(FIXTURE, 'config.json'));
  const eos = [cfg.eos_token_id as number, cfg.bos_token_id as number]; // <|im_end|>, <|endoftext|>
  Object.assign(cfg, {
    _name_or_path: variant === 'small' ? 'loupe/bench-qwen2vl' : 'loupe/bench-qwen2vl-2b-q4',
    hidden_size: SHAPE.hidden,
    intermediate_size: SHAPE.intermediate,
    num_attention_heads: SHAPE.heads,
    num_key_value_heads: SHAPE.kvHeads,
    num_hidden_layers: SHAPE.layers,
    max_window_layers: SHAPE.layers,
    rms_norm_eps: SHAPE.eps,
    rope_theta: SHAPE.ropeTheta,
    rope_scaling: { type: 'mrope', mrope_section: SHAPE.mropeSection },
    tie_word_embeddings: tied,
    vocab_size: SHAPE.vocab,
  });
  cfg.vision_config = { ...cfg.vision_config, embed_dim: SHAPE.hidden, hidden_size: SHAPE.hidden };
  writeJson(dir, 'config.json', cfg);
  writeJson(dir, 'generation_config.json', { bos_token_id: eos[1], eos_token_id: eos, pad_token_id: eos[1], do_sample: false });

  const bytes = { decoder: 0, embed: 0, vision: 0 };
  const params = { decoder: 0, embed: 0, vision: 0 };
  let decodeWeightBytes = 0;
  const write = (name: string, key: keyof typeof bytes, build: () => Built) => {
    const built = build();
    const buf = built.g.encode(name, { producer: 'loupe-bench-model', doc: `Loupe benchmark model: ${name} (seeded random ${dtype} weights)` });
    writeFileSync(join(dir, 'onnx', `${name}${suffix}.onnx`), buf);
    bytes[key] = buf.byteLength;
    params[key] = built.params;
    if (key === 'decoder') decodeWeightBytes = built.weightBytes;
  };
  write('decoder_model_merged', 'decoder', () => buildDecoder(eos, variant));
  write('embed_tokens', 'embed', () => buildEmbed(variant));
  write('vision_encoder', 'vision', () => buildVision(variant));
  const info: BenchModelInfo = { dir, variant, dtype, suffix, shape: SHAPE, params, bytes, decodeWeightBytes, eos };
  writeJson(dir, 'bench-model.json', info);
  writeFileSync(join(dir, 'README.md'), [
    `# ${variant === 'small' ? 'bench-qwen2vl' : 'bench-qwen2vl-2b-q4'} (generated by \`scripts/bench-model.ts --variant ${variant}\`, do not edit)`,
    '',
    `Seeded random ${dtype} transformer in the Qwen2-VL ONNX layout: hidden ${SHAPE.hidden}, ${SHAPE.layers} layers, ${SHAPE.heads} heads / ${SHAPE.kvHeads} KV heads,`,
    `SwiGLU ${SHAPE.intermediate}, vocabulary ${SHAPE.vocab}. Decoder ${params.decoder} parameters, embeddings ${params.embed}, vision ${params.vision}.`,
    '',
  ].join('\n'));
  return info;
}

/** Stamp: the generator's own sources and the variant; regenerated when they change. Undefined when bundled (GPU runs). */
function stamp(variant: BenchVariant): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  try {
    const h = createHash('sha256').update(variant).update(readFileSync(fileURLToPath(import.meta.url)));
    for (const f of ['onnx-graph.ts', 'q4.ts']) h.update(readFileSync(join(here, f)));
    return h.digest('hex');
  } catch {
    return undefined;
  }
}

export function ensureBenchModel(dir?: string, variant: BenchVariant = 'small'): BenchModelInfo {
  dir ??= VARIANTS[variant].dir;
  const s = join(dir, '.stamp');
  const want = stamp(variant);
  const have = existsSync(join(dir, 'bench-model.json'));
  // Bundled (no sources to hash): a model already there is used as it is.
  if (have && (want === undefined || (existsSync(s) && readFileSync(s, 'utf8').trim() === want))) return readJson(join(dir, 'bench-model.json'));
  const info = generateBenchModel(dir, variant);
  writeFileSync(s, (want ?? 'bundled') + '\n');
  return info;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const variant = (arg('--variant') ?? 'small') as BenchVariant;
  if (!VARIANTS[variant]) throw new Error(`--variant must be one of ${Object.keys(VARIANTS).join(', ')}`);
  const dir = arg('--out') ?? VARIANTS[variant].dir;
  const t0 = Date.now();
  const info = process.argv.includes('--if-missing') ? ensureBenchModel(dir, variant) : (() => { const r = generateBenchModel(dir, variant); writeFileSync(join(dir, '.stamp'), (stamp(variant) ?? 'bundled') + '\n'); return r; })();
  console.log(`[bench-model] ${dir}: decoder ${info.params.decoder} params (${(info.bytes.decoder / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
