// B1/B2 baseline: a bare onnxruntime-node greedy loop on the bench model's own sessions
// (embed_tokens + decoder_model_merged), with minimal KV handling: present.* fed back as past_key_values.*.
// Runs as a child process (like Loupe's model host) and answers {type:'run'} messages.
//
//   bare-worker.ts <model folder> [cpu|webgpu|cuda]
//
// On webgpu the KV cache stays on the GPU (present.* as 'gpu-buffer' outputs, old ones disposed), as transformers.js
// does for webgpu; the logits come back to the CPU for the argmax. LOUPE_BENCH_ORT_VERBOSE=1 creates the sessions
// with onnxruntime's verbose log (node placements on stderr).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
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
const presentNames = Array.from({ length: L }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat();

async function main(): Promise<void> {
  const t0 = performance.now();
  const embed = await ort.InferenceSession.create(join(folder, 'onnx', 'embed_tokens.onnx'), opts);
  const decoderFile = join(folder, 'onnx', 'decoder_model_merged.onnx');
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
    decoder = await ort.InferenceSession.create(decoderFile, opts);
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

  process.on('message', (m: RunMsg) => {
    if (m.type === 'run') run(m).then((r) => process.send!(r), (e) => process.send!({ type: 'error', message: String((e as Error)?.stack ?? e) }));
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((e) => {
  process.send?.({ type: 'error', message: String((e as Error)?.stack ?? e) });
  process.exit(1);
});
