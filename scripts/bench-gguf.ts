// Writes the q4 bench model's weights as a GGUF for llama.cpp (B11): architecture `qwen2`, every matrix Q4_0 with
// the very codes and scales of the ONNX MatMulNBits weights (scripts/q4.ts), tied embeddings (token_embd doubles as
// the LM head, as in Qwen2-VL-2B, so there is no output.weight), fp32 biases and norms, and the bench model's
// tokenizer (tiny-qwen2vl's BPE padded to 151,936 tokens) as a `gpt2` vocabulary with the `qwen2` pre-tokenizer.
//
//   node --import tsx scripts/bench-gguf.ts [--if-missing] [--out FILE]
//
// Default file: bench/.models/bench-qwen2vl-2b-q4_0.gguf (git-ignored). Needs the ONNX model folder for the tokenizer
// (generated first when missing). Text positions: Qwen2-VL's mrope with three equal position ids is plain NEOX RoPE,
// which is what llama.cpp's qwen2 runs, so both engines compute the same function of the same weights.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBenchModel, layerMatrices, q4Bias, q4Weight, VARIANTS, type BenchModelInfo } from './bench-model';
import { GGML, writeGguf, type MetaValue, type TensorSpec } from './gguf';
import { packQ4_0 } from './q4';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_GGUF = join(ROOT, 'bench', '.models', 'bench-qwen2vl-2b-q4_0.gguf');

export interface GgufInfo {
  file: string;
  bytes: number;
  /** Bytes one decode step reads: every Q4_0 matrix (the tied token_embd as LM head included), biases and norms. */
  decodeWeightBytes: number;
  tensors: number;
}

const f32Bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function generateBenchGguf(file = BENCH_GGUF, model: BenchModelInfo = ensureBenchModel(undefined, 'q4-2b')): GgufInfo {
  const S = model.shape;
  const hd = S.hidden / S.heads;
  const tok = JSON.parse(readFileSync(join(model.dir, 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
    added_tokens: { id: number; content: string; special: boolean }[];
  };
  const tokens: string[] = new Array(S.vocab);
  const types = new Int32Array(S.vocab).fill(1); // 1 normal
  for (const [t, id] of Object.entries(tok.model.vocab)) tokens[id] = t;
  for (const a of tok.added_tokens) {
    tokens[a.id] = a.content;
    types[a.id] = a.special ? 3 : 4; // control, user defined
  }
  for (let i = 0; i < S.vocab; i++) if (tokens[i] === undefined) throw new Error(`token id ${i} has no string in the bench tokenizer`);
  const merges = tok.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' ')));
  const cfg = JSON.parse(readFileSync(join(model.dir, 'config.json'), 'utf8')) as { bos_token_id: number; eos_token_id: number };

  const arch = 'qwen2';
  const meta: [string, MetaValue][] = [
    ['general.architecture', { str: arch }],
    ['general.name', { str: 'Loupe bench qwen2vl-2b q4 (seeded random weights)' }],
    ['general.file_type', { u32: 2 }], // MOSTLY_Q4_0
    ['general.quantization_version', { u32: 2 }],
    [`${arch}.context_length`, { u32: 32768 }],
    [`${arch}.embedding_length`, { u32: S.hidden }],
    [`${arch}.block_count`, { u32: S.layers }],
    [`${arch}.feed_forward_length`, { u32: S.intermediate }],
    [`${arch}.attention.head_count`, { u32: S.heads }],
    [`${arch}.attention.head_count_kv`, { u32: S.kvHeads }],
    [`${arch}.rope.dimension_count`, { u32: hd }],
    [`${arch}.rope.freq_base`, { f32: S.ropeTheta }],
    [`${arch}.attention.layer_norm_rms_epsilon`, { f32: S.eps }],
    ['tokenizer.ggml.model', { str: 'gpt2' }],
    ['tokenizer.ggml.pre', { str: 'qwen2' }],
    ['tokenizer.ggml.tokens', { strs: tokens }],
    ['tokenizer.ggml.token_type', { i32s: types }],
    ['tokenizer.ggml.merges', { strs: merges }],
    ['tokenizer.ggml.bos_token_id', { u32: cfg.bos_token_id }],
    ['tokenizer.ggml.eos_token_id', { u32: cfg.eos_token_id }],
    ['tokenizer.ggml.padding_token_id', { u32: cfg.bos_token_id }],
    ['tokenizer.ggml.add_bos_token', { bool: false }],
  ];

  const ones = new Float32Array(S.hidden).fill(1);
  let decodeWeightBytes = 0;
  const tensors: TensorSpec[] = [];
  const q4 = (name: string, rows: number, cols: number): TensorSpec => {
    decodeWeightBytes += (rows * cols / 32) * 18;
    return { name, dims: [cols, rows], type: GGML.Q4_0, data: () => packQ4_0(q4Weight(S, name, rows, cols)) };
  };
  const f32 = (name: string, values: () => Float32Array, n: number): TensorSpec => {
    decodeWeightBytes += 4 * n;
    return { name, dims: [n], type: GGML.F32, data: () => f32Bytes(values()) };
  };
  tensors.push(q4('token_embd.weight', S.vocab, S.hidden));
  for (let l = 0; l < S.layers; l++) {
    tensors.push(f32(`blk.${l}.attn_norm.weight`, () => ones, S.hidden));
    const mats = layerMatrices(S, l);
    for (const [name, rows, cols] of mats) {
      tensors.push(q4(name, rows, cols));
      // q, k and v have biases in Qwen2 (the ONNX graph adds the same values after MatMulNBits).
      if (/attn_[qkv]\.weight$/.test(name)) {
        const bias = name.replace('.weight', '.bias');
        tensors.push(f32(bias, () => q4Bias(S, bias, rows), rows));
      }
      if (name.endsWith('attn_output.weight')) tensors.push(f32(`blk.${l}.ffn_norm.weight`, () => ones, S.hidden));
    }
  }
  tensors.push(f32('output_norm.weight', () => ones, S.hidden));
  const tmp = `${file}.partial`;
  const bytes = writeGguf(tmp, meta, tensors);
  renameSync(tmp, file);
  return { file, bytes, decodeWeightBytes, tensors: tensors.length };
}

/** Stamp: this script, the writer, the weights and the ONNX model's own stamp. */
function stamp(model: BenchModelInfo): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const h = createHash('sha256');
  // Bundled for a GPU machine there are no sources to hash: the model's stamp alone decides.
  for (const f of ['bench-gguf.ts', 'gguf.ts', 'q4.ts']) if (existsSync(join(here, f))) h.update(readFileSync(join(here, f)));
  const s = join(model.dir, '.stamp');
  if (existsSync(s)) h.update(readFileSync(s));
  return h.digest('hex');
}

export function ensureBenchGguf(file = BENCH_GGUF): GgufInfo {
  const model = ensureBenchModel(undefined, 'q4-2b');
  const s = `${file}.json`;
  const want = stamp(model);
  if (existsSync(s) && existsSync(file)) {
    const info = JSON.parse(readFileSync(s, 'utf8')) as GgufInfo & { stamp: string };
    if (info.stamp === want && statSync(file).size === info.bytes) return info;
  }
  const info = generateBenchGguf(file, model);
  writeFileSync(s, JSON.stringify({ ...info, stamp: want }, null, 2) + '\n');
  return info;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--out');
  const file = i > 0 ? process.argv[i + 1]! : BENCH_GGUF;
  const t0 = Date.now();
  const info = process.argv.includes('--if-missing') ? ensureBenchGguf(file) : generateBenchGguf(file, ensureBenchModel(undefined, 'q4-2b'));
  console.log(`[bench-gguf] ${info.file}: ${info.tensors} tensors, ${(info.bytes / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s (model dir ${VARIANTS['q4-2b'].dir})`);
}
