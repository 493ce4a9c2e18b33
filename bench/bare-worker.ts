// B1/B2 baseline: a bare onnxruntime-node greedy loop on the bench model's own sessions
// (embed_tokens + decoder_model_merged), with minimal KV handling: present.* fed back as past_key_values.*.
// Runs as a child process (like Loupe's model host) and answers {type:'run'} messages.
//
//   bare-worker.ts <model folder> [cpu|webgpu|cuda]
//
// The model's files are those its bench-model.json names (`_q4` for the q4 model). On the CPU, MatMulNBits get the
// int8 accuracy level Loupe's model host gives them (src/engine/local/host/nbits.ts), so both run the same graph.
// On webgpu the KV cache stays on the GPU (present.* as 'gpu-buffer' outputs, old ones disposed), as transformers.js
// does for webgpu; the logits come back to the CPU for the argmax. LOUPE_BENCH_ORT_VERBOSE=1 creates the sessions
// with onnxruntime's verbose log (node placements on stderr).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { INT8_ACCURACY, withNbitsAccuracy } from '../src/engine/local/host/nbits';
import { intraOpThreads } from '../src/engine/local/host/threads';

interface RunMsg {
  type: 'run';
  prompt: string;
  newTokens: number;
  /** Reproduce transformers.js 4.3.1's text-only decode positions (past + 2 × prompt length) to check token identity. */
  tfjsPositions?: boolean;
}

const folder = process.argv[2]!;
const device = process.argv[3] ?? 'cpu';
const cfg = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, number>;
const L = cfg.num_hidden_layers!;
const KV = cfg.num_key_value_heads!;
const HD = cfg.hidden_size! / cfg.num_attention_heads!;
// The same thread count as Loupe's model host, so B1 compares the engines, not the thread pools.
const opts: ort.InferenceSession.SessionOptions = {
  executionProviders: [device],
  logSeverityLevel: process.env.LOUPE_BENCH_ORT_VERBOSE === '1' ? 0 : 3,
  intraOpNumThreads: intraOpThreads(),
};
// LOUPE_BENCH_ORT_PROFILE=1: the decoder session records onnxruntime's profile; a {type:'profile'} message ends it and
// answers the time per op type (B11).
const PROFILE_DIR = join(__dirname, '.out', `ort-profile-${process.pid}`);
const profiling = process.env.LOUPE_BENCH_ORT_PROFILE === '1';
const infoFile = join(folder, 'bench-model.json');
const suffix = existsSync(infoFile) ? ((JSON.parse(readFileSync(infoFile, 'utf8')) as { suffix?: string }).suffix ?? '') : '';
const nbitsEnv = process.env.LOUPE_NBITS_ACCURACY;
const nbitsLevel = nbitsEnv === undefined || nbitsEnv === '' ? INT8_ACCURACY : Number(nbitsEnv);
/** A session on the model file, or on its bytes with MatMulNBits accuracy_level set as the model host does on the CPU. */
function createSession(file: string, o: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  const patched = device === 'cpu' && nbitsLevel > 0 ? withNbitsAccuracy(readFileSync(file), nbitsLevel) : undefined;
  return patched ? ort.InferenceSession.create(patched.bytes, o) : ort.InferenceSession.create(file, o);
}
const presentNames = Array.from({ length: L }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat();

async function main(): Promise<void> {
  const t0 = performance.now();
  const embed = await createSession(join(folder, 'onnx', `embed_tokens${suffix}.onnx`), opts);
  const decoderFile = join(folder, 'onnx', `decoder_model_merged${suffix}.onnx`);
  let decoder: ort.InferenceSession;
  let kvOnGpu = false;
  let kvNote = '';
  if (device === 'webgpu') {
    try {
      decoder = await ort.InferenceSession.create(decoderFile, { ...opts, preferredOutputLocation: Object.fromEntries(presentNames.map((n) => [n, 'gpu-buffer' as const])) });
      kvOnGpu = true;
    } catch (e) {
      kvNote = `present.* as gpu-buffer refused (${String((e as Error)?.message ?? e).split('\n')[0]}); KV cache goes through the CPU`;
      decoder = await ort.InferenceSession.create(decoderFile, opts);
    }
  } else {
    if (profiling) mkdirSync(PROFILE_DIR, { recursive: true });
    decoder = await createSession(decoderFile, profiling ? { ...opts, enableProfiling: true, profileFilePrefix: join(PROFILE_DIR, 'decoder') } : opts);
  }
  const loadMs = performance.now() - t0;

  const argmax = (d: Float32Array, off: number, n: number) => {
    let best = 0;
    let bv = -Infinity;
    for (let i = 0; i < n; i++) if (d[off + i]! > bv) { bv = d[off + i]!; best = i; }
    return best;
  };

  // The prompt ids Loupe's qwen2_vl family builds for a text-only `ask` (chat template, generation prompt).
  // Tokenization is outside the timed loop; transformers.js is used for it alone.
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  const processor = (await tf.AutoProcessor.from_pretrained(folder, { local_files_only: true } as never)) as unknown as {
    apply_chat_template(m: unknown[], o: object): string;
    tokenizer: ((t: string) => { input_ids: { data: BigInt64Array } }) & { decode(ids: number[], o: object): string };
  };
  const promptIds = (prompt: string) => {
    const text = processor.apply_chat_template([{ role: 'user', content: [{ type: 'text', text: prompt }] }], { add_generation_prompt: true });
    return processor.tokenizer(text).input_ids.data;
  };

  process.send!({ type: 'ready', loadMs, rss: process.memoryUsage().rss, device, kvOnGpu, kvNote });

  async function run(m: RunMsg) {
    let ids = BigInt64Array.from(promptIds(m.prompt));
    const P = ids.length;
    const past: Record<string, ort.Tensor> = {};
    for (let l = 0; l < L; l++) for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, KV, 0, HD]);
    const times: number[] = [];
    const runMs: number[] = [];
    const tokens: number[] = [];
    let total = 0;
    const start = performance.now();
    for (let step = 0; step < m.newTokens; step++) {
      const T = ids.length;
      const r0 = performance.now();
      const { inputs_embeds } = await embed.run({ input_ids: new ort.Tensor('int64', ids, [1, T]) });
      const pos = new BigInt64Array(3 * T);
      const shift = m.tfjsPositions && step > 0 ? 2 * P : 0;
      for (let i = 0; i < 3 * T; i++) pos[i] = BigInt(total + shift + (i % T));
      total += T;
      const embedMs = performance.now() - r0;
      const r1 = performance.now();
      const out = await decoder.run({
        inputs_embeds: inputs_embeds!,
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
        position_ids: new ort.Tensor('int64', pos, [3, 1, T]),
        ...past,
      });
      runMs.push(embedMs + performance.now() - r1);
      const logits = out.logits!;
      const V = logits.dims[2]!;
      const next = argmax(logits.data as Float32Array, (T - 1) * V, V);
      for (let l = 0; l < L; l++) {
        for (const kv of ['key', 'value']) {
          const name = `past_key_values.${l}.${kv}`;
          // GPU-resident cache entries are freed by hand once replaced (transformers.js does the same).
          if (past[name]!.location === 'gpu-buffer') past[name]!.dispose();
          past[name] = out[`present.${l}.${kv}`]!;
        }
      }
      tokens.push(next);
      ids = BigInt64Array.of(BigInt(next));
      times.push(performance.now());
    }
    for (const t of Object.values(past)) if (t.location === 'gpu-buffer') t.dispose();
    const first = times[0]! - start;
    const decodeMsPerToken = (times.at(-1)! - times[0]!) / (times.length - 1);
    const runMsPerToken = runMs.slice(1).reduce((x, y) => x + y, 0) / (runMs.length - 1);
    const text = processor.tokenizer.decode(tokens, { skip_special_tokens: false });
    return { type: 'result', text, runMsPerToken, promptTokens: P, generated: tokens.length, tokens, firstTokenMs: first, decodeMsPerToken, totalMs: times.at(-1)! - start };
  }

  process.on('message', (m: RunMsg | { type: 'profile' }) => {
    if (m.type === 'run') run(m).then((r) => process.send!(r), (e) => process.send!({ type: 'error', message: String((e as Error)?.stack ?? e) }));
    if (m.type === 'profile') {
      try {
        decoder.endProfiling();
        const file = readdirSync(PROFILE_DIR).find((f) => f.endsWith('.json'));
        if (!file) throw new Error(`onnxruntime wrote no profile in ${PROFILE_DIR}`);
        const profile = opProfile(JSON.parse(readFileSync(join(PROFILE_DIR, file), 'utf8')) as ProfileEvent[]);
        rmSync(PROFILE_DIR, { recursive: true, force: true });
        process.send!({ type: 'profile', profile });
      } catch (e) {
        process.send!({ type: 'error', message: String((e as Error)?.stack ?? e) });
      }
    }
  });
  process.on('disconnect', () => process.exit(0));
}

interface ProfileEvent { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }

/** Kernel time per op type: the first model_run (the prefill) apart, the others (decode steps) averaged per step. */
function opProfile(events: ProfileEvent[]) {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.args?.op_name);
  const by = new Map<string, { op: string; decodeMs: number; prefillMs: number; nodes: Set<string> }>();
  const steps = runs.length - 1;
  for (const n of nodes) {
    const i = runs.findIndex((r) => n.ts >= r.ts && n.ts <= r.ts + r.dur);
    if (i < 0) continue;
    const op = n.args!.op_name!;
    const row = by.get(op) ?? { op, decodeMs: 0, prefillMs: 0, nodes: new Set<string>() };
    row.nodes.add(n.name);
    if (i === 0) row.prefillMs += n.dur / 1000;
    else row.decodeMs += n.dur / 1000 / steps;
    by.set(op, row);
  }
  const rows = [...by.values()].map((r) => ({ op: r.op, decodeMs: r.decodeMs, prefillMs: r.prefillMs, nodes: r.nodes.size })).sort((a, b) => b.decodeMs - a.decodeMs);
  return { steps, runMs: runs.slice(1).reduce((s, r) => s + r.dur / 1000, 0) / steps, prefillMs: (runs[0]?.dur ?? 0) / 1000, byOp: rows };
}

main().catch((e) => {
  process.send?.({ type: 'error', message: String((e as Error)?.stack ?? e) });
  process.exit(1);
});
