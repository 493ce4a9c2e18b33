// The fixture models through the real model host (dist/host.js via HostClient, the path test/engine.test.ts uses)
// on the CPU and on a GPU provider, same requests on both: answers, boxes and timings side by side, plus where
// onnxruntime placed each node (its verbose log, from a separate untimed host). For a GPU machine: see docs/gpu.md.
//
//   node --import tsx scripts/gpu-fixtures.ts [--device webgpu] [--runs 3] [--out DIR]
//
// Needs dist/host.js (npm run build) and test/fixtures/models (npm run fixtures). Writes DIR/fixtures-gpu.json,
// DIR/fixtures-gpu.md and DIR/ort-verbose-fixtures.log (default DIR: a new temporary folder). Exits 0 whenever it
// could write its results, also when the GPU provider fails (that is a result too).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describePlacements, EP_NAME, gpuInfo, ORT_VERBOSE_PRELOAD, parsePlacements } from '../bench/gpu';
import type { Task } from '../src/common/tasks';
import { parseAnswer } from '../src/engine/dialects';
import type { Generation, GenerateRequest } from '../src/engine/types';
import type { LoadedInfo } from '../src/engine/local/protocol';
type RegionInput = GenerateRequest['regions'][number];
import { HostClient } from '../src/engine/local/client';
import { spotPng } from '../test/helpers/spot';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const DEVICE = arg('--device') ?? 'webgpu';
const RUNS = Number(arg('--runs') ?? 3);
const OUT = arg('--out') ?? mkdtempSync(join(tmpdir(), 'loupe-gpu-fixtures-'));
mkdirSync(OUT, { recursive: true });
const FIX = join(ROOT, 'test', 'fixtures', 'models');
const IMG = join(ROOT, 'examples', 'images');
const log = (s: string) => console.log(`[gpu-fixtures] ${s}`);
const messageOf = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 400);

const MODELS = {
  florence: { key: 'florence', folder: join(FIX, 'tiny-florence2'), family: 'florence2' as const, dialect: 'florence2' as const, info: { id: 'tiny-florence2' } as never },
  qwen: { key: 'qwen', folder: join(FIX, 'tiny-qwen2vl'), family: 'qwen2_vl' as const, dialect: 'qwen2_vl' as const, info: { id: 'tiny-qwen2vl' } as never },
};
type ModelKey = keyof typeof MODELS;
interface Case { name: string; model: ModelKey; task: string; prompt: string; images: { path: string; source: string }[]; regions?: RegionInput[] }

async function cases(): Promise<Case[]> {
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-gpu-img-'));
  const spot = async (name: string, w: number, h: number, box: [number, number, number, number]) => {
    const p = join(tmp, name);
    writeFileSync(p, await spotPng(w, h, box));
    return { path: p, source: name };
  };
  const img = (n: string) => ({ path: join(IMG, n), source: n });
  const spotF = await spot('spot-600x400.png', 600, 400, [360, 80, 480, 160]);
  const spotQ = await spot('spot-640x480.png', 640, 480, [400, 100, 520, 200]);
  const region: RegionInput = { image: 1, box: [60, 40, 300, 200] };
  return [
    { name: 'florence caption coffee.png', model: 'florence', task: 'caption', prompt: '', images: [img('coffee.png')] },
    { name: 'florence ground "the lamp" (spot 600×400)', model: 'florence', task: 'ground', prompt: 'the lamp', images: [spotF] },
    { name: 'florence detect astronaut.png', model: 'florence', task: 'detect', prompt: '', images: [img('astronaut.png')] },
    { name: 'florence ocr-regions text.png', model: 'florence', task: 'ocr-regions', prompt: '', images: [img('text.png')] },
    { name: 'florence describe-region coffee.png', model: 'florence', task: 'describe-region', prompt: '', images: [img('coffee.png')], regions: [region] },
    { name: 'qwen ground "the bright region" (spot 640×480)', model: 'qwen', task: 'ground', prompt: 'the bright region', images: [spotQ] },
    { name: 'qwen ground "the helmet" chelsea.png', model: 'qwen', task: 'ground', prompt: 'the helmet', images: [img('chelsea.png')] },
    { name: 'qwen ask two images', model: 'qwen', task: 'ask', prompt: 'What differs?', images: [spotQ, img('coffee.png')] },
    { name: 'qwen describe-region coffee.png', model: 'qwen', task: 'describe-region', prompt: '', images: [img('coffee.png')], regions: [region] },
    { name: 'qwen ask "Hi" (text only)', model: 'qwen', task: 'ask', prompt: 'Hi', images: [] },
  ];
}

const request = (c: Case) => ({ key: c.model, task: c.task as never, prompt: c.prompt, images: c.images, regions: c.regions ?? [], params: { max_new_tokens: 60 }, maxImageTokens: 1024, maxImagePixels: 50_000_000 });

interface Answer { raw: string; text: string; regions: number[][]; stats: Generation['stats'][] }
interface DeviceRun { device: string; loaded: Partial<Record<ModelKey, LoadedInfo>>; loadError: Partial<Record<ModelKey, string>>; answers: Record<string, Answer | { error: string }>; wallMs: number }

async function runOn(device: string, all: Case[]): Promise<DeviceRun> {
  const t0 = performance.now();
  const client = new HostClient({ script: join(ROOT, 'dist', 'host.js'), onLog: (l) => { if (!/vulkan|Dawn|XDG_RUNTIME/i.test(l)) console.log(`[host ${device}] ${l}`); } });
  const out: DeviceRun = { device, loaded: {}, loadError: {}, answers: {}, wallMs: 0 };
  for (const k of Object.keys(MODELS) as ModelKey[]) {
    try {
      out.loaded[k] = await client.load({ ...MODELS[k], device: device as never, dtype: 'auto' });
      log(`${device}: ${k} loaded on ${out.loaded[k]!.provider} (${JSON.stringify(out.loaded[k]!.dtype)}, ${out.loaded[k]!.loadMs.toFixed(0)} ms)`);
    } catch (e) {
      out.loadError[k] = messageOf(e);
      log(`${device}: ${k} failed to load: ${out.loadError[k]}`);
    }
  }
  for (const c of all) {
    if (!out.loaded[c.model]) {
      out.answers[c.name] = { error: `not loaded: ${out.loadError[c.model]}` };
      continue;
    }
    const stats: Generation['stats'][] = [];
    let last: Generation | undefined;
    try {
      for (let i = 0; i < RUNS; i++) {
        last = await client.generate(request(c));
        stats.push(last.stats);
      }
      const parsed = parseAnswer(MODELS[c.model].dialect, c.task as Task, last!.raw, { images: last!.images, modelSizes: last!.images.map((i) => ({ width: i.modelWidth, height: i.modelHeight })) });
      out.answers[c.name] = { raw: last!.raw, text: parsed.text, regions: parsed.regions.map((r) => r.coords.map((v) => Math.round(v * 100) / 100)), stats };
    } catch (e) {
      out.answers[c.name] = { error: messageOf(e) };
    }
  }
  client.dispose();
  out.wallMs = performance.now() - t0;
  return out;
}

/** A host with onnxruntime's verbose log: loads both fixtures and answers one request each; the log shows node placement. */
async function verboseRun(device: string, all: Case[]): Promise<{ log: string; errors: string[] }> {
  let text = '';
  const errors: string[] = [];
  const client = new HostClient({ script: join(ROOT, 'dist', 'host.js'), env: { NODE_OPTIONS: `--require ${ORT_VERBOSE_PRELOAD}` }, onLog: (l) => { text += l + '\n'; } });
  for (const k of Object.keys(MODELS) as ModelKey[]) {
    try {
      text += `\n===== loupe: loading ${k} on ${device} =====\n`;
      await client.load({ ...MODELS[k], device: device as never, dtype: 'auto' });
      const c = all.find((x) => x.model === k)!;
      text += `\n===== loupe: generating "${c.name}" =====\n`;
      await client.generate(request(c));
    } catch (e) {
      errors.push(`${k}: ${messageOf(e)}`);
    }
  }
  // Let the last stderr chunks arrive before the host goes.
  await new Promise((r) => setTimeout(r, 300));
  client.dispose();
  return { log: text, errors };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const card = gpuInfo();
  log(`card: ${card ? `${card.name}, ${card.memory}, driver ${card.driver}` : 'no nvidia-smi'}; device ${DEVICE}; ${RUNS} runs per request; out ${OUT}`);
  const all = await cases();
  const cpu = await runOn('cpu', all);
  const gpu = await runOn(DEVICE, all);
  const verbose = await verboseRun(DEVICE, all);
  writeFileSync(join(OUT, 'ort-verbose-fixtures.log'), verbose.log);
  const ep = EP_NAME[DEVICE] ?? DEVICE;
  const place = parsePlacements(verbose.log, ep);
  const warnings = verbose.log.split('\n').filter((l) => /not assigned to the preferred|fall(ing)? ?back|Failed to get|adapter/i.test(l)).slice(0, 20);

  const row = (...c: string[]) => `| ${c.join(' | ')} |`;
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const timing = (a: Answer | { error: string } | undefined) => {
    if (!a || 'error' in a) return 'n/a';
    const first = a.stats[0]!;
    const rest = a.stats.slice(1);
    const med = (f: (s: Generation['stats']) => number) => (rest.length ? median(rest.map(f)) : f(first));
    return `${med((s) => s.totalMs).toFixed(1)} ms (first ${first.totalMs.toFixed(0)} ms; encode ${med((s) => s.imageEncodeMs).toFixed(1)}, TTFT ${med((s) => s.timeToFirstTokenMs).toFixed(1)})`;
  };
  let same = 0;
  const comparisons = all.map((c) => {
    const a = cpu.answers[c.name];
    const b = gpu.answers[c.name];
    const ok = !!a && !!b && !('error' in a) && !('error' in b);
    const equal = ok && a.raw === b.raw && JSON.stringify(a.regions) === JSON.stringify(b.regions);
    if (equal) same++;
    return { name: c.name, equal, cpu: a, gpu: b };
  });
  const md = [
    `Run by \`scripts/gpu-fixtures.ts --device ${DEVICE}\` on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}: ${card ? `**${card.name}** (${card.memory}, driver ${card.driver})` : 'no NVIDIA card found (nvidia-smi)'}, Node.js ${process.version}.`,
    `Each request ran ${RUNS} times per device through \`HostClient\` → \`dist/host.js\`; times are the median of runs 2–${RUNS} (the first run is given too: it includes ${DEVICE === 'webgpu' ? 'WebGPU shader compilation' : 'warm-up'}).`,
    '',
    row('model', 'CPU: provider, dtype, load', `${DEVICE}: provider, dtype, load`),
    row('---', '---', '---'),
    ...(Object.keys(MODELS) as ModelKey[]).map((k) => {
      const d = (r: DeviceRun) => (r.loaded[k] ? `${r.loaded[k]!.provider}, ${JSON.stringify(r.loaded[k]!.dtype)}, ${r.loaded[k]!.loadMs.toFixed(0)} ms${r.loaded[k]!.fallbacks.length ? ` (fallbacks: ${r.loaded[k]!.fallbacks.map((f) => `${f.device}: ${f.error}`).join('; ')})` : ''}` : `failed: ${esc(r.loadError[k] ?? '')}`);
      return row(MODELS[k].folder.split('/').pop() ?? k, d(cpu), d(gpu));
    }),
    '',
    `Node placement (onnxruntime verbose log of a separate, untimed ${DEVICE} host; sessions in creation order): ${describePlacements(place.blocks, ep)}.`,
    warnings.length ? `Placement warnings: ${warnings.map((w) => `\`${esc(w.replace(/^.*?\] ?/, '').slice(0, 200))}\``).join('; ')}.` : 'No placement or fallback warnings in that log.',
    ...(verbose.errors.length ? [`Verbose host errors: ${verbose.errors.map(esc).join('; ')}.`] : []),
    '',
    `Answers: **${same} of ${all.length}** requests gave the same raw text and boxes on both devices.`,
    '',
    row('request', 'CPU answer (raw)', `${DEVICE} answer`, 'same', 'CPU time', `${DEVICE} time`),
    row('---', '---', '---', '---', '---', '---'),
    ...comparisons.map((c) => {
      const ans = (a: Answer | { error: string } | undefined) => (!a ? 'n/a' : 'error' in a ? `error: ${esc(a.error)}` : `\`${esc(a.raw)}\`${a.regions.length ? ` → ${JSON.stringify(a.regions)}` : ''}`);
      return row(esc(c.name), ans(c.cpu), c.equal ? '(same)' : ans(c.gpu), c.equal ? 'yes' : '**no**', timing(c.cpu), timing(c.gpu));
    }),
    '',
  ].join('\n');
  const json = { device: DEVICE, runs: RUNS, card, node: process.version, cpu, gpu, comparisons: comparisons.map((c) => ({ name: c.name, equal: c.equal })), same, total: all.length, placements: place.blocks, placementLines: place.lines.slice(0, 400), warnings, verboseErrors: verbose.errors };
  writeFileSync(join(OUT, 'fixtures-gpu.json'), JSON.stringify(json, null, 2) + '\n');
  writeFileSync(join(OUT, 'fixtures-gpu.md'), md);
  console.log(md);
  log(`wrote ${join(OUT, 'fixtures-gpu.json')} and fixtures-gpu.md; ${same}/${all.length} answers equal`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
