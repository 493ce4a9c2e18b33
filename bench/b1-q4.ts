// B1 and B2 on the q4 bench model (Qwen2-VL-2B's language model shape, 4-bit MatMulNBits), so they speak of a model
// users run: Loupe's model host against the bare onnxruntime-node loop on the same files (int8 MatMulNBits in both),
// alternating, and both against the memory-bandwidth bound. Same method as B1/B2 on the small fp32 model in run.ts.
import { join } from 'node:path';
import type { BenchModelInfo } from '../scripts/bench-model';
import { HostClient } from '../src/engine/local/client';
import { intraOpThreads } from '../src/engine/local/host/threads';
import { benchGenerate, benchLoad, Child, decodeBytes, fmt, mb, ROOT, summarize, type BareReady, type BareResult } from './common';

export async function runB1q4(o: { model: BenchModelInfo; rounds: number; newTokens: number; prompt: string; bwGBs: number; bwThreadsGBs: number; log: (s: string) => void }) {
  const { model, log } = o;
  log('B1/B2 on the q4 model: loading it in the model host and the bare worker…');
  const client = new HostClient({ script: join(ROOT, 'dist', 'host.js') });
  const loaded = await client.load(benchLoad(model.dir, 'cpu'));
  const hostRss = (await client.status())!.rss;
  const bare = new Child('bare-worker.ts', [model.dir]);
  const ready = await bare.next<BareReady>();
  const loupeRun = async (n: number) => {
    let first = 0;
    const r = await client.generate(benchGenerate(o.prompt, n), { onDelta: () => { if (!first) first = performance.now(); } });
    return { ms: (performance.now() - first) / (r.stats.generatedTokens - 1), host: 1000 / r.stats.tokensPerSecond, ttft: r.stats.timeToFirstTokenMs, raw: r.raw, promptTokens: r.stats.promptTokens };
  };
  const bareRun = (n: number) => bare.next<BareResult>({ type: 'run', prompt: o.prompt, newTokens: n });
  const check = await loupeRun(o.newTokens);
  const checkBare = await bareRun(o.newTokens);
  const same = check.raw.trim() === checkBare.text.trim();
  const L: Awaited<ReturnType<typeof loupeRun>>[] = [];
  const B: BareResult[] = [];
  for (let i = 0; i < o.rounds; i++) {
    log(`B1 (q4): round ${i + 1}/${o.rounds}`);
    if (i % 2 === 0) {
      L.push(await loupeRun(o.newTokens));
      B.push(await bareRun(o.newTokens));
    } else {
      B.push(await bareRun(o.newTokens));
      L.push(await loupeRun(o.newTokens));
    }
  }
  bare.kill();
  client.dispose();
  const tokL = summarize(L.map((r) => r.ms));
  const tokB = summarize(B.map((r) => r.decodeMsPerToken));
  const runB = summarize(B.map((r) => r.runMsPerToken));
  const ratio = summarize(L.map((r, i) => r.ms / B[i]!.decodeMsPerToken));
  const ttftL = summarize(L.map((r) => r.ttft));
  const ttftB = summarize(B.map((r) => r.firstTokenMs));
  const { ctxAvg, kvBytes, weightBytes, bytesPerToken } = decodeBytes(model, check.promptTokens, o.newTokens);
  const boundMs = (bytesPerToken / (o.bwGBs * 1e9)) * 1000;
  const boundThreadsMs = (bytesPerToken / (o.bwThreadsGBs * 1e9)) * 1000;
  const threads = intraOpThreads();
  const row = (...c: string[]) => `| ${c.join(' | ')} |`;
  const ok = (c: boolean) => (c ? '**met**' : '**missed**');
  const lines = [
    '## B1 and B2 on the q4 model (Qwen2-VL-2B shape)',
    '',
    `The q4 bench model of B11 (files \`*_q4.onnx\`, ${mb(model.bytes.decoder)} decoder; Loupe loaded dtype ${JSON.stringify(loaded.dtype)} on ${loaded.provider}), the same ${check.promptTokens}-token prompt and ${o.newTokens} new tokens as B1,`,
    `${threads} thread(s); the bare loop creates its sessions from the same bytes the model host gives onnxruntime (int8 MatMulNBits). Alternating, ${o.rounds} rounds.`,
    `RSS after load: model host ${mb(hostRss)}, bare worker ${mb(ready.rss)} (model files ${mb(loaded.bytes)}).`,
    '',
    row('path', 'ms/token', 'ratio to bare (per round)', 'in `session.run` (bare)', 'time to first token'),
    row('---', '---', '---', '---', '---'),
    row('bare onnxruntime-node loop', fmt(tokB, 2, ' ms'), '1', fmt(runB, 2, ' ms'), fmt(ttftB, 0, ' ms')),
    row('Loupe, at the consumer', fmt(tokL, 2, ' ms'), `**${fmt(ratio, 3)}**`, '', fmt(ttftL, 0, ' ms')),
    '',
    `B1 goal ≤ 1.03: ${ok(ratio.median <= 1.03)} (median ratio ${ratio.median.toFixed(3)}). Token check: Loupe's streamed text ${same ? 'equals' : '**differs from**'} the bare loop's tokens.`,
    `Outside \`session.run\` the bare loop spends ${(tokB.median - runB.median).toFixed(2)} ms per token; Loupe's extra (transformers.js's generate, the streamer, IPC) is the rest of the ratio.`,
    '',
    `B2: ${mb(weightBytes)} of decoder weights (4-bit codes and fp32 scales, biases, norms) + ${mb(kvBytes)} of KV cache at the average context of ${ctxAvg} + one embedding row = **${mb(bytesPerToken)}** per token.`,
    `Bound ${boundMs.toFixed(2)} ms/token at the machine's ${o.bwGBs.toFixed(2)} GB/s (all cores), ${boundThreadsMs.toFixed(2)} ms at the ${o.bwThreadsGBs.toFixed(2)} GB/s one engine thread count copies.`,
    '',
    row('path', 'achieved ÷ bound (all cores)', `achieved ÷ bound (${threads} thread(s))`),
    row('---', '---', '---'),
    row('bare onnxruntime-node', (boundMs / tokB.median).toFixed(2), (boundThreadsMs / tokB.median).toFixed(2)),
    row('Loupe', `**${(boundMs / tokL.median).toFixed(2)}**`, `**${(boundThreadsMs / tokL.median).toFixed(2)}**`),
    '',
    `B2 goal ≥ 0.6: ${ok(boundMs / tokL.median >= 0.6)} on the all-core bound (${(boundMs / tokL.median).toFixed(2)}; ${(boundThreadsMs / tokL.median).toFixed(2)} against the bound at the engines' thread count).`,
    '',
  ];
  return { lines, json: { ratio: ratio.median, loupe: tokL.median, bare: tokB.median, fracBound: boundMs / tokL.median, fracBoundThreads: boundThreadsMs / tokL.median, same } };
}
