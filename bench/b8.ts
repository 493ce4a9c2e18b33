// B8: batches. 10,000 small generated images through a test server with a fixed 20 ms latency (bench/b8-server.ts,
// its own process). Throughput at concurrency 1 and 8 on the same images, alternating rounds (each round starts
// the batch over with rerun=all); then one 10,000-image batch at concurrency 8, with the RSS of the process running
// it (this one) when 1,000 and when 10,000 images are done. Everything runs through the kernel and the runner, as a
// notebook cell does in the extension host.
//
//   node --expose-gc --import tsx bench/b8.ts [--write] [--quick]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { LoupeResult } from '../src/common/result';
import { RESULT_MIME } from '../src/common/result';
import { Kernel, type KernelCell } from '../src/core/kernel/kernel';
import { EnginePromptRunner } from '../src/core/kernel/runner';
import { Engines } from '../src/engine/engines';
import { HostClient } from '../src/engine/local/client';
import { LocalEngine } from '../src/engine/local/engine';
import { RemoteEngine } from '../src/engine/remote/engine';
import { Child, ROOT, summarize, writeBenchSection } from './common';

export const B8_GOAL_SPEEDUP = 6;
export const B8_GOAL_GROWTH_MB = 50;
const IMAGES = 10_000;
const LATENCY_MS = 20;
const MB = 1024 * 1024;
const f = (v: number, d = 1) => v.toFixed(d);

/** 10,000 small PNGs (generated once, kept in bench/.out/b8). */
async function images(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length >= IMAGES) return;
  for (let i = 0; i < IMAGES; i++) {
    const x = 2 + (i % 40);
    const y = 2 + ((i * 7) % 30);
    await sharp({ create: { width: 64 + (i % 17), height: 48 + (i % 13), channels: 3, background: { r: 16, g: 16, b: 16 } } })
      .composite([{ input: { create: { width: 16, height: 12, channels: 3, background: '#ffffff' } }, left: x, top: y }])
      .png({ compressionLevel: 1 })
      .toFile(join(dir, `img-${String(i).padStart(5, '0')}.png`));
  }
}

export async function runB8(o: { rounds: number; log?: (m: string) => void }): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const log = o.log ?? (() => undefined);
  const out = join(ROOT, 'bench', '.out', 'b8');
  const imgDir = join(out, 'images');
  log('B8: generating 10,000 small images (once)…');
  await images(imgDir);
  const work = mkdtempSync(join(tmpdir(), 'loupe-b8-'));
  // The notebook sits next to a link to the images, so globs are relative to it as in a user's folder.
  const { symlinkSync } = await import('node:fs');
  symlinkSync(imgDir, join(work, 'images'));
  const server = new Child('b8-server.ts', [String(LATENCY_MS)]);
  const { url } = await server.next<{ url: string }>();
  const local = new LocalEngine(new HostClient({ script: join(ROOT, 'dist', 'host.js') }), () => ({ device: 'cpu', dtype: 'auto', allowDownloads: false, endpoint: 'http://127.0.0.1:9', modelsDir: join(work, 'models') }));
  try {
    const engine = (concurrency: number) => new RemoteEngine({ config: { id: 'gpu', kind: 'vllm', baseUrl: url, concurrency }, apiKey: async () => undefined, keyHint: 'none', source: 'bench' });
    const runCell = async (concurrency: number, glob: string, onDone?: (done: number) => void) => {
      const remote = engine(concurrency);
      const runner = new EnginePromptRunner({
        engines: new Engines(local, () => [remote], 'bench'),
        settings: () => ({ defaultModel: 'gpu:Qwen/Qwen2.5-VL-7B-Instruct', maxImageTokens: 1280, maxImagePixels: 5e7, batchMaxImages: IMAGES }),
        withProgress: (_l, fn) => fn(() => undefined, new AbortController().signal),
        streamIntervalMs: 250,
      });
      const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => 5e7, prompts: runner });
      let last: LoupeResult | undefined;
      const cell: KernelCell = {
        notebook: 'b8',
        baseDir: work,
        notebookPath: join(work, 'b8.loupe'),
        source: `@model gpu:Qwen/Qwen2.5-VL-7B-Instruct\n@images ${glob}\n@set rerun=all\n@task ground\nthe spot`,
        language: 'loupe',
        createExecution: () => ({
          signal: new AbortController().signal,
          start() {},
          async replaceOutputs(outs) {
            const it = outs.flatMap((x) => x.items).find((i) => i.mime === RESULT_MIME);
            if (!it) return;
            last = JSON.parse(new TextDecoder().decode(it.data)) as LoupeResult;
            if (last.batch) onDone?.(last.batch.done);
          },
          end() {},
        }),
      };
      const t0 = performance.now();
      await kernel.execute([cell]);
      const ms = performance.now() - t0;
      if (last?.batch?.state !== 'done' || last.batch.errors) throw new Error(`B8: the batch ended ${last?.batch?.state} with ${last?.batch?.errors} errors: ${last?.batch?.error ?? last?.error}`);
      const { peak } = await server.next<{ peak: number }>({ type: 'peak' });
      return { ms, done: last.batch.done, peak, sidecar: join(work, last.batch.sidecar) };
    };

    // Throughput: the same images at concurrency 1 and 8, alternating.
    // img-00000 … img-00399: the first 400 images.
    const glob = 'images/img-00[0-3]??.png';
    const c1: number[] = [];
    const c8: number[] = [];
    let peaks = [0, 0];
    let n = 0;
    await runCell(8, glob); // warm-up
    for (let r = 0; r < o.rounds; r++) {
      log(`B8 round ${r + 1}/${o.rounds}: concurrency 1 and 8 on the same 400 images…`);
      for (const c of r % 2 ? [8, 1] : [1, 8]) {
        const x = await runCell(c, glob);
        n = x.done;
        (c === 1 ? c1 : c8).push((x.done / x.ms) * 1000);
        peaks = c === 1 ? [x.peak, peaks[1]!] : [peaks[0]!, x.peak];
      }
    }
    const speedups = summarize(c8.map((v, i) => v / c1[i]!));

    // Memory: 10,000 images at concurrency 8, RSS when 1,000 and 10,000 are done (after a GC where allowed).
    log('B8: 10,000 images at concurrency 8, RSS at 1,000 and 10,000…');
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const rss: Record<number, number> = {};
    const start = process.memoryUsage().rss;
    const big = await runCell(8, 'images/*.png', (done) => {
      for (const mark of [1000, IMAGES]) {
        if (done >= mark && rss[mark] === undefined) {
          gc?.();
          rss[mark] = process.memoryUsage().rss;
        }
      }
    });
    gc?.();
    const afterRss = process.memoryUsage().rss;
    const growthMb = (rss[IMAGES]! - rss[1000]!) / MB;
    const rows = readFileSync(big.sidecar, 'utf8').split('\n').filter(Boolean).length;

    const lines = [
      '## B8 Batches: throughput against a server, and memory over 10,000 images',
      '',
      `A server in its own process answers every request after a fixed ${LATENCY_MS} ms (a streamed Qwen2.5-VL box); the batch runs in this process through`,
      'the kernel and the runner, as a cell does in the extension host (each image hashed, decoded for its size and thumbnail, resized and sent, its row appended',
      `to the sidecar). Throughput: the same ${n} images at concurrency 1 and 8, alternating, ${o.rounds} rounds, medians (min–max). Goals: ≥ ${B8_GOAL_SPEEDUP}× at 8; RSS growth from 1,000 to 10,000 images ≤ ${B8_GOAL_GROWTH_MB} MB.`,
      '',
      '| concurrency | images/s | peak requests in flight at the server |',
      '| --- | --- | --- |',
      `| 1 | ${f(summarize(c1).median)} (${f(summarize(c1).min)}–${f(summarize(c1).max)}) | ${peaks[0]} |`,
      `| 8 | ${f(summarize(c8).median)} (${f(summarize(c8).min)}–${f(summarize(c8).max)}) | ${peaks[1]} |`,
      `| **8 ÷ 1** | **${f(speedups.median, 2)}×** (${f(speedups.min, 2)}–${f(speedups.max, 2)}) | goal ≥ ${B8_GOAL_SPEEDUP}×: ${speedups.median >= B8_GOAL_SPEEDUP ? 'met' : '**missed**'} |`,
      '',
      '| 10,000 images at concurrency 8 | |',
      '| --- | --- |',
      `| time, images/s | ${f(big.ms / 1000)} s, ${f((big.done / big.ms) * 1000)} |`,
      `| RSS before the batch | ${f(start / MB)} MB |`,
      `| RSS at 1,000 images done | ${f(rss[1000]! / MB)} MB |`,
      `| RSS at 10,000 images done | ${f(rss[IMAGES]! / MB)} MB |`,
      `| **growth 1,000 → 10,000** | **${f(growthMb)} MB** (goal ≤ ${B8_GOAL_GROWTH_MB} MB: ${growthMb <= B8_GOAL_GROWTH_MB ? 'met' : '**missed**'}) |`,
      `| RSS after, GC'd | ${f(afterRss / MB)} MB |`,
      `| rows in the sidecar / output rows in the notebook | ${rows} / 20 |`,
      '',
      `${gc ? 'RSS is read after a forced GC (node --expose-gc).' : 'RSS is read without a forced GC (run with node --expose-gc for steadier figures).'} At concurrency 1 each image costs the server's ${LATENCY_MS} ms plus the client's own work in series; at 8 the client's work (hashing, decoding, resizing, parsing) overlaps the waits, so the ratio is bounded by the client's CPU on this 2-core machine.`,
      '',
    ];
    return { lines, json: { c1, c8, speedup: speedups.median, rss, growthMb, peaks, big } };
  } finally {
    local.dispose();
    server.proc.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  runB8({ rounds: quick ? 3 : 5, log: (m) => console.error(m) }).then(
    (r) => {
      console.log(r.lines.join('\n'));
      writeFileSync(join(ROOT, 'bench', '.out', 'b8.json'), JSON.stringify(r.json, null, 2));
      if (process.argv.includes('--write')) writeBenchSection('B8', 'bench/b8.ts', r.lines.join('\n'));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
