// Generates the benchmark model: a transformer-shaped decoder (embeddings, RMSNorm, GQA attention with
// multimodal RoPE and a KV cache, SwiGLU MLP, LM head) in the onnx-community Qwen2-VL layout that
// transformers.js 4.3.1 and Loupe's `qwen2_vl` family load (`onnx/vision_encoder.onnx`,
// `onnx/embed_tokens.onnx`, `onnx/decoder_model_merged.onnx`). Weights are seeded random fp32, so the
// logits are real MatMul outputs, not a script. Not a fixture: the benchmarks in bench/ use it.
//
//   node --import tsx scripts/bench-model.ts [--if-missing] [--out DIR]
//
// Default folder: bench/.models/bench-qwen2vl (git-ignored). The tokenizer is tiny-qwen2vl's (the real
// Qwen2-VL chat template) padded with filler tokens " w<id>" to the model's vocabulary.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, T } from './onnx-graph';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2vl');
export const BENCH_MODEL_DIR = join(ROOT, 'bench', '.models', 'bench-qwen2vl');

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
const PATCH_DIM = 3 * 2 * 14 * 14; // 1176

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

function rmsNorm(g: Graph, x: string, H: number, eps: number): string {
  const ms = g.op('ReduceMean', [g.mul(x, x)], { axes: [-1], keepdims: 1 });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.add(ms, g.f32([eps], [1]))])]);
  return g.mul(g.mul(x, inv), g.f32(new Float32Array(H).fill(1), [H], undefined, true));
}

export interface DecoderInfo { params: number; eos: number[] }

function buildDecoder(eosIds: number[]): { g: Graph; params: number } {
  const { hidden: H, layers: L, heads: NH, kvHeads: KV, intermediate: I, vocab: V, eps } = SHAPE;
  const hd = H / NH;
  const G = NH / KV;
  const rand = rng(SHAPE.seed);
  const g = new Graph();
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
    const h = rmsNorm(g, x, H, eps);
    const q = g.add(g.mm(h, w(H, H)), b(H));
    const k = g.add(g.mm(h, w(H, KV * hd)), b(KV * hd));
    const v = g.add(g.mm(h, w(H, KV * hd)), b(KV * hd));
    const qh = rope(g.tr(g.reshape(q, [0, 0, NH, hd]), [0, 2, 1, 3])); // [B,NH,T,hd]
    const kh = rope(g.tr(g.reshape(k, [0, 0, KV, hd]), [0, 2, 1, 3])); // [B,KV,T,hd]
    const vh = g.tr(g.reshape(v, [0, 0, KV, hd]), [0, 2, 1, 3]);
    const K = g.op('Concat', [past[l]![0], kh], { axis: 2 }); // [B,KV,S,hd]
    const Vv = g.op('Concat', [past[l]![1], vh], { axis: 2 });
    g.output(K, `present.${l}.key`, T.FLOAT, ['batch_size', KV, 'total_sequence_length', hd]);
    g.output(Vv, `present.${l}.value`, T.FLOAT, ['batch_size', KV, 'total_sequence_length', hd]);
    // Grouped-query attention: [B,KV,G,T,hd] x [B,KV,1,hd,S].
    const q5 = g.reshape(qh, [0, KV, G, -1, hd]);
    const scores = g.add(g.mul(g.mm(q5, g.unsq(g.tr(K, [0, 1, 3, 2]), [2])), scale), bias);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const ctx = g.mm(probs, g.unsq(Vv, [2])); // [B,KV,G,T,hd]
    const merged = g.reshape(g.tr(g.reshape(ctx, [0, NH, -1, hd]), [0, 2, 1, 3]), [0, 0, H]);
    x = g.add(x, g.mm(merged, w(H, H)));
    const h2 = rmsNorm(g, x, H, eps);
    const gate = g.mm(h2, w(H, I));
    const up = g.mm(h2, w(H, I));
    const act = g.mul(g.mul(gate, g.op('Sigmoid', [gate])), up); // SiLU(gate) * up
    x = g.add(x, g.mm(act, w(I, H)));
  }
  const hf = rmsNorm(g, x, H, eps);
  // LM head. The end tokens get a large negative bias so greedy decoding always runs max_new_tokens.
  const lmBias = new Float32Array(V);
  for (const e of eosIds) lmBias[e] = -1e4;
  const logits = g.add(g.mm(hf, g.f32(rand(H * V, H), [H, V], 'lm_head.weight', true)), g.f32(lmBias, [V]));
  g.output(logits, 'logits', T.FLOAT, ['batch_size', 'sequence_length', V]);
  return { g, params: g.params };
}

function buildEmbed(): { g: Graph; params: number } {
  const g = new Graph();
  const ids = g.input('input_ids', T.INT64, ['batch_size', 'sequence_length']);
  const table = rng(SHAPE.seed + 1)(SHAPE.vocab * SHAPE.hidden, 3); // std 1
  g.output(g.op('Gather', [g.f32(table, [SHAPE.vocab, SHAPE.hidden], 'embed_tokens.weight', true), ids], { axis: 0 }), 'inputs_embeds', T.FLOAT, ['batch_size', 'sequence_length', SHAPE.hidden]);
  return { g, params: g.params };
}

function buildVision(): { g: Graph; params: number } {
  const g = new Graph();
  const px = g.input('pixel_values', T.FLOAT, ['num_patches', PATCH_DIM]);
  g.input('grid_thw', T.INT64, ['num_images', 3]);
  // Patch merger stand-in: 2x2 patches (4 consecutive rows) -> one image token, a real projection.
  const merged = g.reshape(px, [-1, 4 * PATCH_DIM]);
  const feats = g.mm(merged, g.f32(rng(SHAPE.seed + 2)(4 * PATCH_DIM * SHAPE.hidden, 4 * PATCH_DIM), [4 * PATCH_DIM, SHAPE.hidden], 'merger.weight', true));
  g.output(feats, 'image_features', T.FLOAT, ['num_image_tokens', SHAPE.hidden]);
  return { g, params: g.params };
}

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const writeJson = (dir: string, name: string, obj: unknown) => writeFileSync(join(dir, name), JSON.stringify(obj, null, 2) + '\n');

export interface BenchModelInfo {
  dir: string;
  shape: typeof SHAPE;
  params: { decoder: number; embed: number; vision: number };
  bytes: { decoder: number; embed: number; vision: number };
  eos: number[];
}

export function generateBenchModel(dir = BENCH_MODEL_DIR): BenchModelInfo {
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
    _name_or_path: 'loupe/bench-qwen2vl',
    hidden_size: SHAPE.hidden,
    intermediate_size: SHAPE.intermediate,
    num_attention_heads: SHAPE.heads,
    num_key_value_heads: SHAPE.kvHeads,
    num_hidden_layers: SHAPE.layers,
    max_window_layers: SHAPE.layers,
    rms_norm_eps: SHAPE.eps,
    rope_theta: SHAPE.ropeTheta,
    rope_scaling: { type: 'mrope', mrope_section: SHAPE.mropeSection },
    tie_word_embeddings: false,
    vocab_size: SHAPE.vocab,
  });
  cfg.vision_config = { ...cfg.vision_config, embed_dim: SHAPE.hidden, hidden_size: SHAPE.hidden };
  writeJson(dir, 'config.json', cfg);
  writeJson(dir, 'generation_config.json', { bos_token_id: eos[1], eos_token_id: eos, pad_token_id: eos[1], do_sample: false });

  const bytes = { decoder: 0, embed: 0, vision: 0 };
  const params = { decoder: 0, embed: 0, vision: 0 };
  const write = (name: string, key: keyof typeof bytes, built: { g: Graph; params: number }) => {
    const buf = built.g.encode(name, { producer: 'loupe-bench-model', doc: `Loupe benchmark model: ${name} (seeded random fp32 weights)` });
    writeFileSync(join(dir, 'onnx', `${name}.onnx`), buf);
    bytes[key] = buf.byteLength;
    params[key] = built.params;
  };
  write('decoder_model_merged', 'decoder', buildDecoder(eos));
  write('embed_tokens', 'embed', buildEmbed());
  write('vision_encoder', 'vision', buildVision());
  const info: BenchModelInfo = { dir, shape: SHAPE, params, bytes, eos };
  writeJson(dir, 'bench-model.json', info);
  writeFileSync(join(dir, 'README.md'), [
    '# bench-qwen2vl (generated by `scripts/bench-model.ts`, do not edit)',
    '',
    `Seeded random fp32 transformer in the Qwen2-VL ONNX layout: hidden ${SHAPE.hidden}, ${SHAPE.layers} layers, ${SHAPE.heads} heads / ${SHAPE.kvHeads} KV heads,`,
    `SwiGLU ${SHAPE.intermediate}, vocabulary ${SHAPE.vocab}. Decoder ${params.decoder} parameters, embeddings ${params.embed}, vision ${params.vision}.`,
    '',
  ].join('\n'));
  return info;
}

/** Stamp: the generator's own source; regenerated when it changes. */
function stamp(): string {
  const builder = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'onnx-graph.ts'));
  return createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).update(builder).digest('hex');
}

export function ensureBenchModel(dir = BENCH_MODEL_DIR): BenchModelInfo {
  const s = join(dir, '.stamp');
  if (existsSync(s) && readFileSync(s, 'utf8').trim() === stamp() && existsSync(join(dir, 'bench-model.json'))) return readJson(join(dir, 'bench-model.json'));
  const info = generateBenchModel(dir);
  writeFileSync(s, stamp() + '\n');
  return info;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--out');
  const dir = i > 0 ? process.argv[i + 1]! : BENCH_MODEL_DIR;
  const t0 = Date.now();
  const info = process.argv.includes('--if-missing') ? ensureBenchModel(dir) : (() => { const r = generateBenchModel(dir); writeFileSync(join(dir, '.stamp'), stamp() + '\n'); return r; })();
  console.log(`[bench-model] ${dir}: decoder ${info.params.decoder} params (${(info.bytes.decoder / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
