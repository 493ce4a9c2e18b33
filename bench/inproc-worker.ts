// B4 (in-process) and the B1 profile: the same generation Loupe's model host runs (transformers.js
// generate with TextStreamer + InterruptableStoppingCriteria, Loupe's qwen2_vl family building the
// inputs), but in this process, with onnxruntime's session.run and the tokenizer's decode timed.
import { qwen2vl } from '../src/engine/local/families/qwen2_vl';
import type { Processor, Tensor } from '../src/engine/local/families/types';
import { withStallProbe } from './common';
import { intraOpThreads } from '../src/engine/local/host/threads';

interface RunMsg { type: 'run'; prompt: string; newTokens: number }
type Fn = (...a: unknown[]) => unknown;

const folder = process.argv[2]!;

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@huggingface/transformers') as typeof import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as { InferenceSession: { prototype: { run: Fn } } };
  let inRun = 0;
  const origRun = ort.InferenceSession.prototype.run;
  ort.InferenceSession.prototype.run = async function (this: unknown, ...a: unknown[]) {
    const t = performance.now();
    try {
      return await origRun.apply(this, a);
    } finally {
      inRun += performance.now() - t;
    }
  };
  const t0 = performance.now();
  const model = (await tf.AutoModelForImageTextToText.from_pretrained(folder, { device: 'cpu', dtype: 'fp32', local_files_only: true, session_options: { intraOpNumThreads: intraOpThreads() } } as never)) as unknown as { generate(a: object): Promise<Tensor> };
  const processor = (await tf.AutoProcessor.from_pretrained(folder, { local_files_only: true } as never)) as unknown as Processor;
  const tok = processor.tokenizer as unknown as { decode: Fn };
  let inDecode = 0;
  const origDecode = tok.decode.bind(tok);
  tok.decode = (...a: unknown[]) => {
    const t = performance.now();
    try {
      return origDecode(...a);
    } finally {
      inDecode += performance.now() - t;
    }
  };
  process.send!({ type: 'ready', loadMs: performance.now() - t0, rss: process.memoryUsage().rss });

  async function run(m: RunMsg) {
    const built = await qwen2vl.build({ processor, task: 'ask', prompt: m.prompt, images: [], regions: [], dialect: 'qwen2_vl', cat: (t, d) => tf.cat(t as never, d) as unknown as Tensor });
    const stamps: { t: number; run: number; dec: number }[] = [];
    let text = '';
    const streamer = new tf.TextStreamer(processor.tokenizer as never, {
      skip_prompt: true,
      skip_special_tokens: true,
      callback_function: (s: string) => { text += s; },
      token_callback_function: () => { stamps.push({ t: performance.now(), run: inRun, dec: inDecode }); },
    } as never);
    const probe = await withStallProbe(() => model.generate({ ...built.inputs, max_new_tokens: m.newTokens, do_sample: false, streamer, stopping_criteria: [new tf.InterruptableStoppingCriteria()] }));
    const ids = (probe.result.tolist()[0] as bigint[]).map(Number).slice(built.inputs.input_ids!.dims.at(-1)!);
    const a = stamps[0]!;
    const z = stamps.at(-1)!;
    const n = stamps.length - 1;
    return {
      type: 'result',
      generated: stamps.length,
      tokens: ids,
      decodeMsPerToken: (z.t - a.t) / n,
      runMsPerToken: (z.run - a.run) / n,
      tokenizerDecodeMsPerToken: (z.dec - a.dec) / n,
      maxStallMs: probe.maxStallMs,
      histMaxMs: probe.histMaxMs,
      text: text.slice(0, 60),
    };
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
