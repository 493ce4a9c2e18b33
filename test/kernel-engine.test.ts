// Prompt cells through the kernel, the engine runner and the real model host, on the fixture models.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { ERROR_MIME, RESULT_MIME, type LoupeResult } from '../src/common/result';
import { HostClient } from '../src/engine/local/client';
import { LocalEngine, type LocalSettings } from '../src/engine/local/engine';
import { Kernel, type KernelCell } from '../src/core/kernel/kernel';
import type { OutputSpec } from '../src/core/kernel/outputs';
import { EnginePromptRunner } from '../src/core/kernel/runner';
import { spotPng } from './helpers/spot';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'loupe-kernel-engine-'));
const client = new HostClient({ script: join(ROOT, 'dist', 'host.js') });
after(() => client.dispose());

const local: LocalSettings = { device: 'auto', dtype: 'auto', allowDownloads: false, endpoint: 'http://127.0.0.1:9', modelsDir: join(dir, 'models') };
const engine = new LocalEngine(client, () => local);
const runner = new EnginePromptRunner({
  engines: { pick: (ref) => ({ engine, ref }) },
  settings: () => ({ defaultModel: join(ROOT, 'test', 'fixtures', 'models', 'tiny-florence2'), maxImageTokens: 1024, maxImagePixels: 50_000_000 }),
  withProgress: (_l, fn) => fn(() => undefined, new AbortController().signal),
  // Every streamed token is an update, so the test sees streaming however fast the fixture answers.
  streamIntervalMs: 0,
});
const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => 50_000_000, prompts: runner });

interface Exec {
  updates: OutputSpec[][];
  success?: boolean;
}

async function runCell(source: string): Promise<Exec> {
  const exec: Exec = { updates: [] };
  const cell: KernelCell = {
    notebook: 'nb',
    baseDir: ROOT,
    source,
    language: 'loupe',
    createExecution: () => ({
      signal: new AbortController().signal,
      start() {},
      async replaceOutputs(o) {
        exec.updates.push(o);
      },
      end(s) {
        exec.success = s;
      },
    }),
  };
  await kernel.execute([cell]);
  return exec;
}

const final = (e: Exec) => e.updates.at(-1)!;
const result = (o: OutputSpec[]) => JSON.parse(new TextDecoder().decode(o.flatMap((x) => x.items).find((i) => i.mime === RESULT_MIME)!.data)) as LoupeResult;
const errorOf = (o: OutputSpec[]) => JSON.parse(new TextDecoder().decode(o.flatMap((x) => x.items).find((i) => i.mime === ERROR_MIME)!.data)) as { name: string; message: string };

test('a Florence-2 prompt cell streams, then shows the scripted answer with its metadata', async () => {
  const e = await runCell('@model ./test/fixtures/models/tiny-florence2\n@image examples/images/coffee.png\n@task caption\n@set seed=3');
  assert.equal(e.success, true);
  const running = e.updates.slice(0, -1).map(result);
  assert.ok(running.length >= 2 && running.every((r) => r.status === 'running'), 'output updates while generating');
  // Only the first update carries the image bytes; later ones are the answer so far.
  assert.ok(running[0]!.images[0]!.display!.data.length > 1000);
  assert.ok(running.slice(1).every((r) => r.images[0]!.display!.data === ''));
  const r = result(final(e));
  assert.equal(r.status, 'ok');
  assert.equal(r.runs.length, 1);
  const run = r.runs[0]!;
  assert.deepEqual([run.status, run.answer, run.images], ['ok', 'A tiny fixture image.', [1]]);
  assert.deepEqual([run.model?.id, run.model?.engine, run.model?.revision, run.model?.provider, run.model?.dtype, run.model?.fixture], ['./test/fixtures/models/tiny-florence2', 'local', 'local', 'cpu', 'q4', true]);
  assert.ok(run.model?.fallbacks?.some((f) => f.device === 'webgpu'), 'the WebGPU fallback is recorded, not silent');
  assert.equal(r.params.seed, 3);
  assert.equal(run.seed, 3);
  for (const k of ['loadMs', 'totalMs']) assert.equal(typeof r.timings[k], 'number', k);
  for (const k of ['preprocessMs', 'imageEncodeMs', 'timeToFirstTokenMs', 'tokensPerSecond', 'promptTokens', 'generatedTokens', 'totalMs']) assert.equal(typeof run.stats[k], 'number', k);
  assert.deepEqual([r.images[0]!.width, r.images[0]!.modelWidth, r.images[0]!.modelHeight], [600, 768, 768]);
  const meta = final(e)[0]!.metadata as { loupe: { models: { provider: string }[]; modelInput: object[] } };
  assert.equal(meta.loupe.models[0]!.provider, 'cpu');
  assert.deepEqual(meta.loupe.modelInput, [{ image: 1, width: 768, height: 768 }]);
});

test('a grounding cell returns boxes on the image pixels, burned into the PNG fallback', async () => {
  writeFileSync(join(dir, 'spot.png'), await spotPng(600, 400, [360, 80, 480, 160]));
  const e = await runCell(`@model ./test/fixtures/models/tiny-florence2\n@image ${join(dir, 'spot.png')}\n@task ground\nthe lamp`);
  const run = result(final(e)).runs[0]!;
  assert.equal(run.answer, 'the lamp');
  assert.equal(run.regions.length, 1);
  assert.equal(run.regions[0]!.label, 'the lamp');
  assert.deepEqual(run.regions[0]!.span, [0, 8]);
  const [x1, , x2] = run.regions[0]!.coords;
  assert.ok(Math.abs(x1! - 360) <= 25 && Math.abs(x2! - 480) <= 25);
  const png = final(e)[0]!.items.find((i) => i.mime === 'image/png')!.data;
  const { data, info } = await sharp(Buffer.from(png)).raw().toBuffer({ resolveWithObject: true });
  // The box's left edge is drawn in a label colour on the dark background.
  const px = (x: number, y: number) => data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3);
  const edge = [-1, 0, 1].map((d) => [...px(Math.round(x1!) + d, 120)]);
  assert.ok(edge.some((p) => Math.max(...p) > 100 && Math.min(...p) < 200), `edge pixels ${JSON.stringify(edge)}`);
  assert.match(new TextDecoder().decode(final(e)[0]!.items.find((i) => i.mime === 'text/plain')!.data), /the lamp \[\d+, \d+, \d+, \d+\] \(image 1\)/);
});

test('per-image tasks on a single-image model fan out, one answer per image', async () => {
  const e = await runCell('@model ./test/fixtures/models/tiny-florence2\n@image examples/images/coffee.png\n@image examples/images/chelsea.png\n@task ocr');
  const r = result(final(e));
  assert.deepEqual(
    r.runs.map((x) => [x.images, x.answer, x.status]),
    [
      [[1], 'FIXTURE TEXT', 'ok'],
      [[2], 'FIXTURE TEXT', 'ok'],
    ],
  );
});

test('a task the model cannot do is refused before running, naming models that can', async () => {
  const e = await runCell('@model ./test/fixtures/models/tiny-florence2\n@image examples/images/coffee.png\nWhat is this?');
  assert.equal(e.success, false);
  assert.match(errorOf(final(e)).message, /cannot run @task ask\. Models that can: qwen2-vl-2b, smolvlm-256m, smolvlm-500m/);
});

test('a question across images on a single-image model is refused, naming multi-image models', async () => {
  const e = await runCell('@model ./test/fixtures/models/tiny-qwen2vl\n@image examples/images/coffee.png\n@task ground\nthe cup');
  assert.equal(e.success, true, 'qwen2_vl grounds');
  const f = await runCell('@model ./test/fixtures/models/tiny-florence2\n@image examples/images/coffee.png\n@image examples/images/chelsea.png\n@task describe-region\n@region 2 [10, 10, 100, 100]');
  assert.equal(f.success, true, 'referring uses the region’s own image');
  assert.deepEqual(result(final(f)).runs[0]!.images, [2]);
  assert.match(result(final(f)).runs[0]!.raw ?? '', /<loc_22><loc_33><loc_221><loc_333>/);
});

test('unknown models and missing images fail the cell with a clear message and nothing else breaks', async () => {
  const e = await runCell('@model florence-2-bas\n@image examples/images/coffee.png\n@task caption');
  assert.match(errorOf(final(e)).message, /Did you mean florence-2-base/);
  const m = await runCell('@model ./test/fixtures/models/tiny-florence2\n@image nope.png\n@task caption');
  assert.equal(m.success, false);
  // Said once, under the image it is about.
  const bad = result(final(m));
  assert.equal(bad.images[0]!.error, 'image not found: nope.png');
  assert.equal(bad.error, undefined);
  assert.equal(final(m).length, 1);
  const ok = await runCell('@model ./test/fixtures/models/tiny-qwen2vl\nHello?');
  assert.equal(result(final(ok)).runs[0]!.answer, 'Hello from tiny-qwen2vl.');
});

test('an EXIF-rotated JPEG: the box lands on the upright pixels the user sees', async () => {
  // Upright 400×600 with the bright spot low on the left; stored turned, with orientation 6.
  writeFileSync(join(dir, 'rotated.jpg'), await spotPng(400, 600, [40, 420, 160, 540], { orientation: 6 }));
  const stored = await sharp(join(dir, 'rotated.jpg')).metadata();
  assert.deepEqual([stored.width, stored.height, stored.orientation], [600, 400, 6]);
  const e = await runCell(`@model ./test/fixtures/models/tiny-florence2\n@image ${join(dir, 'rotated.jpg')}\n@task detect`);
  const r = result(final(e));
  assert.deepEqual([r.images[0]!.width, r.images[0]!.height], [400, 600]);
  const region = r.runs[0]!.regions[0]!;
  const [x1, y1, x2, y2] = region.coords;
  // One patch: 400/24 ≈ 17 px across, 600/24 = 25 px down.
  assert.ok(Math.abs(x1! - 40) <= 17 && Math.abs(x2! - 160) <= 17 && Math.abs(y1! - 420) <= 25 && Math.abs(y2! - 540) <= 25, JSON.stringify(region.coords));
});

test('grounding on a registry model without boxes is refused before any download', async () => {
  const e = await runCell('@model smolvlm-256m\n@image examples/images/coffee.png\n@task ground\nthe cup');
  assert.equal(e.success, false);
  assert.match(errorOf(final(e)).message, /smolvlm-256m cannot run @task ground\. Models that can: florence-2-base, florence-2-large, qwen2-vl-2b/);
});
