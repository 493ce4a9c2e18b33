// B1 and B2 on a GPU: `bench/run.ts --gpu-only --device webgpu`. Loupe's model host and the bare onnxruntime-node
// loop both run the bench model on the GPU provider; B2's bound is the GPU's memory bandwidth. Also records where
// onnxruntime actually placed the nodes (its verbose log), the card (nvidia-smi), GPU memory before and after
// loading, whether the GPU tokens equal the CPU tokens, and what `cuda` says. Writes bench/gpu-results.md, which
// BENCHMARKS.md's `## GPU` section copies on every later run (also on CPU-only machines), and bench/gpu-results.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedInfo } from '../src/engine/local/protocol';
import { HostClient } from '../src/engine/local/client';
import { intraOpThreads } from '../src/engine/local/host/threads';
import { benchGenerate, benchLoad, Child, decodeBytes, fmt, mb, ROOT, summarize, type BareReady, type BareResult, type Summary } from './common';
import { log, machine, prepare } from './setup';

export const GPU_RESULTS_MD = join(ROOT, 'bench', 'gpu-results.md');
export const GPU_RESULTS_JSON = join(ROOT, 'bench', 'gpu-results.json');
export const ORT_VERBOSE_PRELOAD = join(ROOT, 'bench', 'ort-verbose.js');

interface GpuOpts { device: string; rounds: number; newTokens: number; prompt: string; outDir?: string }

/** The card as nvidia-smi names it; undefined where there is no nvidia-smi. */
export function gpuInfo(): { name: string; memory: string; driver: string } | undefined {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0 || !r.stdout.trim()) return undefined;
  const [name = '', memory = '', driver = ''] = r.stdout.trim().split('\n')[0]!.split(',').map((x) => x.trim());
  return { name, memory, driver };
}

/** GPU memory in use (MiB) and utilization (%), from nvidia-smi. */
export function gpuMemUsed(): { usedMiB: number; util: number } | undefined {
  const r = spawnSync('nvidia-smi', ['--query-gpu=memory.used,utilization.gpu', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return undefined;
  const [used, util] = r.stdout.trim().split('\n')[0]!.split(',').map((x) => Number(x.trim()));
  return Number.isFinite(used) ? { usedMiB: used!, util: util ?? NaN } : undefined;
}

/** Datasheet memory bandwidth (GB/s) of the cards this workplace lends. */
const SPEC_BANDWIDTH: [RegExp, number, string][] = [
  [/H100.*HBM3|H100.*SXM/i, 3350, 'NVIDIA H100 SXM5 80 GB (HBM3) datasheet: 3.35 TB/s'],
  [/H100.*PCIe/i, 2000, 'NVIDIA H100 PCIe 80 GB (HBM2e) datasheet: 2.0 TB/s'],
  [/H200/i, 4800, 'NVIDIA H200 (HBM3e) datasheet: 4.8 TB/s'],
];

/** Measured device-to-device copy bandwidth (bench/gpu-bandwidth.py, PyTorch on CUDA), GB/s read + written. */
function measuredBandwidth(): { gbps?: number[]; name?: string; torch?: string; error?: string } {
  const r = spawnSync('python3', [join(ROOT, 'bench', 'gpu-bandwidth.py')], { encoding: 'utf8', timeout: 180_000 });
  if (r.error) return { error: r.error.message };
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as { gbps?: number[]; error?: string };
  } catch {
    return { error: `python3 exited ${r.status}: ${(r.stderr || r.stdout).slice(-300)}` };
  }
}

export interface Placement { session: number; providers: Record<string, number>; offProvider: Record<string, number> }

/**
 * onnxruntime's verbose "Node placements" blocks (session_state.cc VerifyEachNodeIsAssignedToAnEp), one per session
 * in creation order: nodes per execution provider, and the op types of nodes that are not on `preferred`.
 */
export function parsePlacements(logText: string, preferred: string): { blocks: Placement[]; lines: string[] } {
  const lines = logText
    .split('\n')
    .filter((l) => /VerifyEachNodeIsAssignedToAnEp/.test(l))
    .map((l) => l.replace(/^.*VerifyEachNodeIsAssignedToAnEp\] ?/, '').trimEnd());
  const blocks: Placement[] = [];
  let cur: Placement | undefined;
  let curEp = '';
  for (const l of lines) {
    if (/^Node placements/.test(l.trim())) {
      cur = { session: blocks.length + 1, providers: {}, offProvider: {} };
      blocks.push(cur);
      continue;
    }
    const m = /(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(l);
    if (m && cur) {
      curEp = m[1]!;
      cur.providers[curEp] = (cur.providers[curEp] ?? 0) + Number(m[2]);
      continue;
    }
    const node = /^\s+(\w+) \(/.exec(l);
    if (node && cur && curEp && curEp !== preferred) cur.offProvider[node[1]!] = (cur.offProvider[node[1]!] ?? 0) + 1;
  }
  return { blocks, lines };
}

export const EP_NAME: Record<string, string> = { webgpu: 'WebGpuExecutionProvider', cuda: 'CUDAExecutionProvider', cpu: 'CPUExecutionProvider' };

export function describePlacements(blocks: Placement[], preferred: string, names: string[] = []): string {
  if (!blocks.length) return 'no "Node placements" block in the verbose log';
  return blocks
    .map((b, i) => {
      const total = Object.values(b.providers).reduce((x, y) => x + y, 0);
      const on = b.providers[preferred] ?? 0;
      const off = Object.entries(b.offProvider).map(([op, n]) => `${op}×${n}`).join(', ');
      return `${names[i] ?? `session ${b.session}`}: ${on}/${total} nodes on ${preferred}${off ? ` (elsewhere: ${off})` : ''}`;
    })
    .join('; ');
}

const messageOf = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 400);

export async function gpuMain(o: GpuOpts): Promise<void> {
  const m = machine();
  const card = gpuInfo();
  log(`GPU: ${card ? `${card.name}, ${card.memory}, driver ${card.driver}` : 'nvidia-smi not found'}; device ${o.device}`);
  const model = prepare();
  const folder = model.dir;
  const outDir = o.outDir;
  if (outDir) mkdirSync(outDir, { recursive: true });
  const failures: string[] = [];
  const ep = EP_NAME[o.device] ?? o.device;
  const mem: Record<string, { usedMiB: number; util: number } | undefined> = { start: gpuMemUsed() };

  // ---- B2 bandwidth: measured on the card (PyTorch, CUDA copies) and the datasheet figure.
  log('B2: GPU memory bandwidth (bench/gpu-bandwidth.py)…');
  const measured = measuredBandwidth();
  if (measured.error) failures.push(`bandwidth measurement: ${measured.error}`);
  const spec = SPEC_BANDWIDTH.find(([re]) => re.test(card?.name ?? ''));

  // ---- Where onnxruntime places the nodes: a host with the verbose preload loads the model and generates 2 tokens;
  //      the bare worker creates its sessions verbosely too. Neither is timed.
  log('placement: verbose onnxruntime log from a model host and the bare worker…');
  let hostVerbose = '';
  const vClient = new HostClient({ script: join(ROOT, 'dist', 'host.js'), env: { NODE_OPTIONS: `--require ${ORT_VERBOSE_PRELOAD}` }, onLog: (l) => { hostVerbose += l + '\n'; } });
  const loadReq = benchLoad(folder, o.device as never);
  const genReq = (n: number) => benchGenerate(o.prompt, n);
  try {
    await vClient.load(loadReq);
    await vClient.generate(genReq(2));
  } catch (e) {
    failures.push(`verbose host (${o.device}): ${messageOf(e)}`);
  }
  vClient.dispose();
  let bareVerbose = '';
  const vBare = new Child('bare-worker.ts', [folder, o.device], { LOUPE_BENCH_ORT_VERBOSE: '1' }, (t) => { bareVerbose += t; });
  try {
    await vBare.next<BareReady>();
  } catch (e) {
    failures.push(`verbose bare worker (${o.device}): ${messageOf(e)}`);
  }
  vBare.kill();
  const hostPlace = parsePlacements(hostVerbose, ep);
  const barePlace = parsePlacements(bareVerbose, ep);
  if (outDir) {
    writeFileSync(join(outDir, 'ort-verbose-bench-host.log'), hostVerbose);
    writeFileSync(join(outDir, 'ort-verbose-bench-bare.log'), bareVerbose);
  }
  const fallbackLines = hostVerbose.split('\n').filter((l) => /fall(ing)? ?back|not assigned to the preferred|Failed to|adapter/i.test(l)).slice(0, 20);

  // ---- CUDA: can onnxruntime-node load its CUDA provider here?
  log('cuda: trying the CUDA provider in the bare worker…');
  let cudaResult = '';
  const cuda = new Child('bare-worker.ts', [folder, 'cuda']);
  try {
    await cuda.next<BareReady>();
    cudaResult = 'loaded: onnxruntime-node found its CUDA provider';
  } catch (e) {
    cudaResult = messageOf(e).replace(/^bare-worker\.ts: /, '');
  }
  cuda.kill();

  // ---- B1: Loupe vs bare on the GPU provider, alternating; a CPU bare run gives the reference tokens.
  log(`B1: loading the bench model on ${o.device} in Loupe's model host and in the bare worker…`);
  const hostLog: string[] = [];
  const client = new HostClient({ script: join(ROOT, 'dist', 'host.js'), onLog: (l) => { hostLog.push(l); if (!/vulkan|Dawn/i.test(l)) console.log(`[host] ${l}`); } });
  let loaded: LoadedInfo | undefined;
  let bareReady: BareReady | undefined;
  let bare: Child | undefined;
  const L: { consumerMsPerToken: number; hostMsPerToken: number; ttft: number; promptTokens: number; raw: string }[] = [];
  const B: BareResult[] = [];
  let cpuTokens: BareResult | undefined;
  let checkLoupe: (typeof L)[number] | undefined;
  let checkBare: BareResult | undefined;
  try {
    loaded = await client.load(loadReq);
    mem.afterLoupeLoad = gpuMemUsed();
    bare = new Child('bare-worker.ts', [folder, o.device]);
    bareReady = await bare.next<BareReady>();
    mem.afterBareLoad = gpuMemUsed();
    const loupeRun = async (n: number) => {
      let firstDelta = 0;
      const r = await client.generate(genReq(n), { onDelta: () => { if (!firstDelta) firstDelta = performance.now(); } });
      const end = performance.now();
      return { consumerMsPerToken: (end - firstDelta) / (r.stats.generatedTokens - 1), hostMsPerToken: 1000 / r.stats.tokensPerSecond, ttft: r.stats.timeToFirstTokenMs, promptTokens: r.stats.promptTokens, raw: r.raw };
    };
    const bareRun = () => bare!.next<BareResult>({ type: 'run', prompt: o.prompt, newTokens: o.newTokens });
    log('B1: warm-up (shader compilation) and token check…');
    checkLoupe = await loupeRun(o.newTokens);
    checkBare = await bareRun();
    const cpu = new Child('bare-worker.ts', [folder, 'cpu']);
    try {
      await cpu.next();
      cpuTokens = await cpu.next<BareResult>({ type: 'run', prompt: o.prompt, newTokens: o.newTokens });
    } catch (e) {
      failures.push(`cpu reference run: ${messageOf(e)}`);
    }
    cpu.kill();
    for (let i = 0; i < o.rounds; i++) {
      log(`B1: round ${i + 1}/${o.rounds}`);
      if (i % 2 === 0) {
        L.push(await loupeRun(o.newTokens));
        B.push(await bareRun());
      } else {
        B.push(await bareRun());
        L.push(await loupeRun(o.newTokens));
      }
    }
  } catch (e) {
    failures.push(`B1 on ${o.device}: ${messageOf(e)}`);
  }
  bare?.kill();
  client.dispose();
  mem.end = gpuMemUsed();

  // ---- Figures.
  const have = L.length > 0 && B.length === L.length;
  const loupeConsumer = have ? summarize(L.map((r) => r.consumerMsPerToken)) : undefined;
  const loupeHost = have ? summarize(L.map((r) => r.hostMsPerToken)) : undefined;
  const bareTok = have ? summarize(B.map((r) => r.decodeMsPerToken)) : undefined;
  const bareRunTok = have ? summarize(B.map((r) => r.runMsPerToken)) : undefined;
  const ratios = have ? summarize(L.map((r, i) => r.consumerMsPerToken / B[i]!.decodeMsPerToken)) : undefined;
  const hostRatios = have ? summarize(L.map((r, i) => r.hostMsPerToken / B[i]!.decodeMsPerToken)) : undefined;
  const ttftLoupe = have ? summarize(L.map((r) => r.ttft)) : undefined;
  const ttftBare = have ? summarize(B.map((r) => r.firstTokenMs)) : undefined;
  const tps = (s: Summary) => summarize(s.values.map((v) => 1000 / v));
  const sameAsBare = checkLoupe && checkBare ? checkLoupe.raw.trim() === checkBare.text.trim() : undefined;
  const cpuDiverge = checkBare && cpuTokens ? checkBare.tokens.findIndex((t, i) => t !== cpuTokens!.tokens[i]) : undefined;

  const promptTokens = checkLoupe?.promptTokens ?? checkBare?.promptTokens ?? 0;
  const { ctxAvg, kvBytes, weightBytes, bytesPerToken } = decodeBytes(model, promptTokens, o.newTokens);
  const bwMeasured = measured.gbps?.length ? summarize(measured.gbps) : undefined;
  const bounds: { label: string; gbps: number; boundMs: number }[] = [];
  if (bwMeasured) bounds.push({ label: `measured: ${fmt(bwMeasured, 0, ' GB/s')} (PyTorch ${measured.torch ?? ''} device-to-device copy of 1 GiB, bytes read + written, CUDA events)`, gbps: bwMeasured.median, boundMs: (bytesPerToken / (bwMeasured.median * 1e9)) * 1000 });
  if (spec) bounds.push({ label: spec[2], gbps: spec[1], boundMs: (bytesPerToken / (spec[1] * 1e9)) * 1000 });

  const row = (...c: string[]) => `| ${c.join(' | ')} |`;
  const s2 = (s: Summary | undefined, d = 2, u = ' ms') => (s ? fmt(s, d, u) : 'n/a');
  const memLine = (k: string) => (mem[k] ? `${mem[k]!.usedMiB} MiB` : 'n/a');
  const cardName = card ? `${card.name} (${card.memory}, driver ${card.driver})` : 'no nvidia-smi';
  const placementNote = (p: ReturnType<typeof parsePlacements>, names: string[]) => describePlacements(p.blocks, ep, names);

  const lines: string[] = [
    '## GPU',
    '',
    `Written by \`bench/run.ts --gpu-only --device ${o.device}\` (\`bench/gpu.ts\`) on ${m.date}, on a lent GPU machine: **${cardName}**, ${m.cpu} (${m.cores} cores), Node.js ${m.node},`,
    `onnxruntime-node ${m.ort}, @huggingface/transformers ${m.tf}. Kept in \`bench/gpu-results.md\`; CPU runs of \`npm run bench\` copy it here unchanged.`,
    'Same bench model, prompt and method as B1/B2 above (48 new tokens, greedy, prefill excluded, Loupe and bare alternating), with both paths on the GPU provider:',
    `Loupe loads with \`device: '${o.device}'\` (transformers.js then keeps the KV cache on the GPU: \`present.*\` as \`gpu-buffer\` outputs fed back as \`past_key_values.*\`);`,
    `the bare loop creates its sessions with \`executionProviders: ['${o.device}']\`${bareReady?.kvOnGpu ? ' and the same GPU-resident KV cache' : bareReady ? ` (${bareReady.kvNote || 'KV cache through the CPU'})` : ''}; logits come back to the CPU for the argmax on both paths.`,
    '',
    `Provider that ran: Loupe's host reported **${loaded ? loaded.provider : 'none (load failed)'}**${loaded?.fallbacks.length ? ` after ${loaded.fallbacks.map((f) => `${f.device}: ${f.error}`).join('; ')}` : ''}, dtype ${loaded ? JSON.stringify(loaded.dtype) : 'n/a'}.`,
    `onnxruntime's node placement (verbose log, separate untimed processes): Loupe's host (sessions in creation order) — ${placementNote(hostPlace, [])}; bare worker — ${placementNote(barePlace, ['embed_tokens', 'decoder_model_merged'])}.`,
    `GPU memory in use (nvidia-smi): ${memLine('start')} before, ${memLine('afterLoupeLoad')} with Loupe's host loaded, ${memLine('afterBareLoad')} with the bare worker loaded too.`,
    '',
    `### B1 on ${o.device}`,
    '',
    row('path', 'ms/token', 'tokens/s', 'ratio to bare (per round)', 'time to first token'),
    row('---', '---', '---', '---', '---'),
    row(`bare onnxruntime-node loop (${o.device})`, s2(bareTok), bareTok ? fmt(tps(bareTok), 1) : 'n/a', '1', s2(ttftBare, 0)),
    row('Loupe, at the consumer', s2(loupeConsumer), loupeConsumer ? fmt(tps(loupeConsumer), 1) : 'n/a', ratios ? `**${fmt(ratios, 3)}**` : 'n/a', s2(ttftLoupe, 0)),
    row('Loupe, inside the model host', s2(loupeHost), loupeHost ? fmt(tps(loupeHost), 1) : 'n/a', hostRatios ? fmt(hostRatios, 3) : 'n/a', ''),
    '',
    ratios ? `Goal ≤ 1.03: ${ratios.median <= 1.03 ? '**met**' : '**missed**'} (median ratio ${ratios.median.toFixed(3)}). Bare loop: ${s2(bareRunTok)} of each step inside \`session.run\`.` : 'B1 did not run: see the failures below.',
    sameAsBare === undefined ? '' : `Token check: Loupe's streamed text ${sameAsBare ? 'equals' : 'does **not** equal'} the bare GPU loop's tokens.`,
    cpuDiverge === undefined ? '' : `GPU vs CPU (bare loop, same prompt, greedy): ${cpuDiverge < 0 ? `all ${o.newTokens} tokens equal` : `the sequences diverge at token ${cpuDiverge + 1} of ${o.newTokens}`}${cpuDiverge >= 0 ? ' (fp32 sums in a different order on the GPU; random weights leave near-ties among the logits)' : ''}.` +
      (cpuTokens ? ` That CPU run (one, ${intraOpThreads()} onnxruntime threads on this machine) decoded at ${cpuTokens.decodeMsPerToken.toFixed(2)} ms/token.` : ''),
    '',
    `### B2 on ${o.device}`,
    '',
    `Bytes read per decode token: ${mb(bytesPerToken)} (${mb(weightBytes)} of fp32 decoder weights + ${mb(kvBytes)} of KV cache at the average context of ${ctxAvg} tokens + one embedding row), all in GPU memory.`,
    '',
    row('bandwidth', 'bound ms/token', 'bare: bound ÷ achieved', 'Loupe: bound ÷ achieved'),
    row('---', '---', '---', '---'),
    ...bounds.map((b) => row(b.label, b.boundMs.toFixed(3), bareTok ? `**${(b.boundMs / bareTok.median).toFixed(3)}**` : 'n/a', loupeConsumer ? `**${(b.boundMs / loupeConsumer.median).toFixed(3)}**` : 'n/a')),
    ...(bounds.length ? [] : [row('not measured and no datasheet figure for this card', '', '', '')]),
    '',
    bounds.length && loupeConsumer ? `Goal ≥ 0.6: ${bounds.every((b) => b.boundMs / loupeConsumer.median >= 0.6) ? '**met**' : '**missed**'}.` : '',
    '',
    '### CUDA',
    '',
    `Not measured. onnxruntime-node ${m.ort} ships no CUDA provider libraries in its npm package; its install script fetches them (\`--onnxruntime-node-install=cuda12\`) from NuGet,`,
    'which the machines this project runs on cannot reach, and neither the npm registry nor Debian carries onnxruntime 1.30\'s CUDA provider. On this GPU machine',
    `\`executionProviders: ['cuda']\` answered: ${cudaResult || 'n/a'}.`,
    '',
    ...(failures.length ? ['### Failures in this run', '', ...failures.map((f) => `- ${f}`), ''] : []),
  ];
  const md = lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n').trim() + '\n';
  const json = {
    date: m.date, device: o.device, machine: m, card, mem, failures, cuda: cudaResult,
    loaded, bareReady, placements: { host: hostPlace.blocks, bare: barePlace.blocks, hostLines: hostPlace.lines.slice(0, 200), fallbackLines },
    bandwidth: { measured, spec: spec ? { gbps: spec[1], source: spec[2] } : undefined },
    b1: { ratios, hostRatios, loupeConsumer, loupeHost, bareTok, bareRunTok, ttftLoupe, ttftBare, sameAsBare, cpuDiverge, gpuTokens: checkBare?.tokens, cpuTokens: cpuTokens?.tokens, cpuMsPerToken: cpuTokens?.decodeMsPerToken, loupeText: checkLoupe?.raw },
    b2: { bytesPerToken, weightBytes, kvBytes, bounds },
    decoderBytes: statSync(join(folder, 'onnx', 'decoder_model_merged.onnx')).size,
    hostLogTail: hostLog.slice(-40),
  };
  if (have || process.argv.includes('--write-partial')) {
    writeFileSync(GPU_RESULTS_MD, md);
    writeFileSync(GPU_RESULTS_JSON, JSON.stringify(json, null, 2) + '\n');
    log(`wrote ${GPU_RESULTS_MD}`);
  } else {
    log(`B1 did not run on ${o.device}: bench/gpu-results.md left as it was`);
  }
  if (outDir) {
    writeFileSync(join(outDir, 'gpu-results.md'), md);
    writeFileSync(join(outDir, 'gpu-results.json'), JSON.stringify(json, null, 2) + '\n');
  }
  console.log(md);
  console.log(JSON.stringify({ device: o.device, card: card?.name, provider: loaded?.provider, ratio: ratios?.median, bare: bareTok?.median, loupe: loupeConsumer?.median, bounds: bounds.map((b) => b.boundMs), failures }));
}
