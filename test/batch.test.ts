// Batches (`@images <glob>`) through the kernel and the runner on the fixture models and a test server: rows on
// disk as they finish, the output's summary and first rows, resume by content and settings, cancel, a killed model
// host, concurrency against a server, bad images as error rows, glob limits, scores against a COCO truth, and the
// CLI (`loupe run`, `loupe eval`, annotation exports).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BatchRow } from '../src/common/batch';
import { ERROR_MIME, RESULT_MIME, type LoupeResult } from '../src/common/result';
import { Kernel, type KernelCell } from '../src/core/kernel/kernel';
import type { OutputSpec } from '../src/core/kernel/outputs';
import { EnginePromptRunner } from '../src/core/kernel/runner';
import { readAllRows } from '../src/core/batch/sidecar';
import { Engines } from '../src/engine/engines';
import { HostClient } from '../src/engine/local/client';
import { LocalEngine } from '../src/engine/local/engine';
import { RemoteEngine } from '../src/engine/remote/engine';
import { ensureBuilt, FLORENCE, QWEN, ROOT } from './helpers/cli';
import { startServer, streamPieces, type TestServer } from './helpers/openai-server';
import { spotPng } from './helpers/spot';

const dir = mkdtempSync(join(tmpdir(), 'loupe-batch-'));
const NB = join(dir, 'b.loupe');
const client = new HostClient({ script: join(ROOT, 'dist', 'host.js') });
const local = new LocalEngine(client, () => ({ device: 'cpu', dtype: 'auto', allowDownloads: false, endpoint: 'http://127.0.0.1:9', modelsDir: join(dir, 'models') }));
let server: TestServer;

/** Spots of known places on images of odd sizes (one EXIF-rotated), and their COCO truth. */
const SPOTS: { name: string; w: number; h: number; box: [number, number, number, number]; orientation?: number }[] = [];
for (let i = 0; i < 12; i++) {
  const w = 301 + i * 37;
  const h = 203 + ((i * 53) % 190);
  const x = 20 + ((i * 31) % Math.floor(w / 2));
  const y = 15 + ((i * 17) % Math.floor(h / 2));
  SPOTS.push({ name: `imgs/spot-${String(i).padStart(2, '0')}.png`, w, h, box: [x, y, x + Math.floor(w / 3), y + Math.floor(h / 3)] });
}

before(async () => {
  ensureBuilt();
  mkdirSync(join(dir, 'imgs', 'sub'), { recursive: true });
  for (const s of SPOTS) writeFileSync(join(dir, s.name), await spotPng(s.w, s.h, s.box));
  // Upright 400×300 with the spot at [40, 30, 200, 150]; stored turned, with EXIF orientation 6.
  writeFileSync(join(dir, 'imgs', 'sub', 'rotated.jpg'), await spotPng(400, 300, [40, 30, 200, 150], { orientation: 6 }));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  const images = [...SPOTS.map((s) => ({ file: s.name, w: s.w, h: s.h, box: s.box })), { file: 'imgs/sub/rotated.jpg', w: 400, h: 300, box: [40, 30, 200, 150] as const }];
  writeFileSync(
    join(dir, 'truth.json'),
    JSON.stringify({
      images: images.map((im, i) => ({ id: i + 1, file_name: im.file, width: im.w, height: im.h })),
      annotations: images.map((im, i) => ({ id: i + 1, image_id: i + 1, category_id: 1, bbox: [im.box[0], im.box[1], im.box[2] - im.box[0], im.box[3] - im.box[1]], area: 1, iscrowd: 0 })),
      categories: [{ id: 1, name: 'spot' }],
    }),
  );
  server = await startServer({ models: ['Qwen/Qwen2.5-VL-7B-Instruct'], mode: 'spot' });
});

after(async () => {
  local.dispose();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Ran {
  success: boolean | undefined;
  updates: OutputSpec[][];
  result?: LoupeResult;
  error?: { name: string; message: string };
}

function runner(opts: { remotes?: RemoteEngine[]; maxImages?: number; onUpdate?: (r: LoupeResult, abort: () => void) => void } = {}) {
  const r = new EnginePromptRunner({
    engines: new Engines(local, () => opts.remotes ?? [], 'loupe.engines'),
    settings: () => ({ defaultModel: FLORENCE, maxImageTokens: 1024, maxImagePixels: 5e7, batchMaxImages: opts.maxImages ?? 10_000, batchLimitHint: 'the test' }),
    withProgress: (_l, fn) => fn(() => undefined, new AbortController().signal),
    streamIntervalMs: 0,
  });
  const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => 5e7, prompts: r });
  return async (source: string): Promise<Ran> => {
    const abort = new AbortController();
    const updates: OutputSpec[][] = [];
    let success: boolean | undefined;
    const read = (o: OutputSpec[], mime: string) => {
      const it = o.flatMap((x) => x.items).find((i) => i.mime === mime);
      return it ? JSON.parse(new TextDecoder().decode(it.data)) : undefined;
    };
    const cell: KernelCell = {
      notebook: NB,
      baseDir: dir,
      notebookPath: NB,
      source,
      language: 'loupe',
      createExecution: () => ({
        signal: abort.signal,
        start() {},
        async replaceOutputs(o) {
          updates.push(o);
          const res = read(o, RESULT_MIME) as LoupeResult | undefined;
          if (res) opts.onUpdate?.(res, () => abort.abort());
        },
        end(s) {
          success = s;
        },
      }),
    };
    await kernel.execute([cell]);
    const final = updates.at(-1) ?? [];
    return { success, updates, result: read(final, RESULT_MIME), error: read(final, ERROR_MIME) };
  };
}

const sidecarOf = (r: Ran) => join(dir, r.result!.batch!.sidecar);
const lines = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as BatchRow);
const GROUND = `@model ${FLORENCE}\n@images imgs/**/*.{png,jpg}\n@truth truth.json\n@task ground\nthe spot`;

test('a batch grounds every image: one sidecar row each as it finishes, boxes in original pixels (odd sizes, EXIF-rotated), a summary and the first rows in the output, a score against the truth', { timeout: 180_000 }, async () => {
  const run = runner();
  const r = await run(GROUND);
  assert.equal(r.success, true, JSON.stringify(r.error ?? r.result?.batch?.error));
  const b = r.result!.batch!;
  assert.equal(r.result!.kind, 'batch');
  assert.deepEqual([b.images, b.done, b.ok, b.errors, b.state, b.resumed], [13, 13, 13, 0, 'done', 0]);
  assert.match(b.sidecar, /^b\.loupe\.runs\/batch-[0-9a-f]{16}\.jsonl$/);
  const rows = lines(sidecarOf(r));
  assert.equal(rows.length, 13);
  // Sorted by path, code point order; the .txt beside them is not an image.
  assert.deepEqual(rows.map((x) => x.image).sort(), [...SPOTS.map((s) => s.name), 'imgs/sub/rotated.jpg'].sort());
  for (const row of rows) {
    const spot = SPOTS.find((s) => s.name === row.image) ?? { w: 400, h: 300, box: [40, 30, 200, 150] };
    assert.deepEqual([row.width, row.height], [spot.w, spot.h], `${row.image}: upright size`);
    assert.equal(row.regions.length, 1, `${row.image}: one box`);
    const [x1, y1, x2, y2] = row.regions[0]!.coords;
    // The fixture's box follows the spot to within one of its 24 patches.
    const tol = [spot.w / 24 + 1, spot.h / 24 + 1];
    [x1, y1, x2, y2].forEach((v, i) => assert.ok(Math.abs(v! - spot.box[i]!) <= tol[i % 2]!, `${row.image} edge ${i}: ${v} vs ${spot.box[i]}`));
    assert.match(row.sha256, /^[0-9a-f]{64}$/);
    assert.equal(row.model?.id.endsWith('tiny-florence2') || row.model?.id === FLORENCE, true);
  }
  // The output holds the summary and the first rows with thumbnails, not every image.
  assert.equal(b.rows.length, 13);
  assert.ok(b.rows.every((x) => x.thumb && x.thumb.width <= 64 && x.thumb.height <= 64));
  assert.equal(r.result!.images.length, 0);
  const score = b.scores![0]!;
  assert.deepEqual([score.images, score.truth, score.predicted], [13, 13, 13]);
  assert.ok(score.hits >= 12, `hits ${score.hits} of 13`);
  assert.ok(score.iouSum / score.truth > 0.6, `mean IoU ${score.iouSum / score.truth}`);
  // Progress reached the output while it ran.
  const running = r.updates.map((u) => u.flatMap((o) => o.items).find((i) => i.mime === RESULT_MIME)).filter(Boolean).map((i) => JSON.parse(new TextDecoder().decode(i!.data)) as LoupeResult).filter((x) => x.batch?.state === 'running');
  assert.ok(running.some((x) => x.batch!.done > 0 && x.batch!.done < 13), 'progress while running');
});

test('running the cell again resumes: unchanged images are skipped, a changed image runs again, rerun=all starts over', { timeout: 180_000 }, async () => {
  const run = runner();
  const first = await run(GROUND);
  const path = sidecarOf(first);
  const before = lines(path).length;
  const again = await run(GROUND);
  assert.equal(again.success, true);
  assert.deepEqual([again.result!.batch!.resumed, again.result!.batch!.done, again.result!.batch!.ok], [13, 13, 13]);
  assert.equal(lines(path).length, before, 'nothing ran: no new rows');
  assert.equal(again.result!.batch!.scores![0]!.truth, 13, 'resumed rows are scored');
  // A changed image runs again, alone.
  const s0 = SPOTS[0]!;
  writeFileSync(join(dir, s0.name), await spotPng(s0.w, s0.h, [0, 0, 40, 40]));
  const changed = await run(GROUND);
  assert.deepEqual([changed.result!.batch!.resumed, changed.result!.batch!.done], [12, 13]);
  const rows = lines(path);
  assert.equal(rows.length, before + 1);
  assert.equal(rows.at(-1)!.image, s0.name);
  writeFileSync(join(dir, s0.name), await spotPng(s0.w, s0.h, s0.box));
  // A changed prompt is another batch: another sidecar.
  const other = await run(GROUND.replace('the spot', 'the bright spot'));
  assert.notEqual(other.result!.batch!.sidecar, first.result!.batch!.sidecar);
  const all = await run(GROUND + '\n@set rerun=all');
  assert.deepEqual([all.result!.batch!.resumed, all.result!.batch!.done], [0, 13]);
  assert.equal(lines(path).length, 13, 'rerun=all starts the sidecar over');
});

test('cancel in the middle keeps what is done; the next run does the rest', { timeout: 180_000 }, async () => {
  let stopAt = 0;
  const run = runner({
    onUpdate: (r, abort) => {
      if (r.batch?.state === 'running' && r.batch.done >= 4 && !stopAt) {
        stopAt = r.batch.done;
        abort();
      }
    },
  });
  const src = GROUND + '\n@set max_new_tokens=40';
  const r = await run(src);
  assert.notEqual(r.success, true);
  const b = r.result!.batch!;
  assert.equal(b.state, 'cancelled');
  assert.match(b.error!, /Cancelled: \d+ of 13 done, kept in .*Run the cell again to resume/);
  const kept = lines(sidecarOf(r)).length;
  assert.ok(kept >= stopAt && kept < 13, `${kept} rows kept after cancelling at ${stopAt}`);
  assert.equal(b.done, kept);
  const rest = await runner()(src);
  assert.deepEqual([rest.result!.batch!.resumed, rest.result!.batch!.done, rest.result!.batch!.state], [kept, 13, 'done']);
});

test('a killed model host loses at most the image in flight: the batch reloads the model and finishes', { timeout: 180_000 }, async () => {
  let killed = false;
  const run = runner({
    onUpdate: (r) => {
      if (!killed && r.batch?.state === 'running' && r.batch.done >= 3 && client.pid) {
        killed = true;
        process.kill(client.pid, 'SIGKILL');
      }
    },
  });
  const r = await run(GROUND + '\n@set max_new_tokens=41');
  assert.ok(killed, 'the host was killed mid-batch');
  assert.equal(r.success, true, JSON.stringify(r.result?.batch?.error ?? r.error));
  assert.deepEqual([r.result!.batch!.done, r.result!.batch!.ok], [13, 13]);
  const rows = lines(sidecarOf(r));
  assert.equal(new Set(rows.map((x) => x.image)).size, 13);
});

test('a server batch keeps `concurrency` requests in flight (peak 8), with bounded retries; boxes land on the spot', { timeout: 120_000 }, async () => {
  const engine = new RemoteEngine({ config: { id: 'gpu', kind: 'vllm', baseUrl: server.url, concurrency: 8 }, apiKey: async () => undefined, keyHint: 'none', source: 'the test' });
  server.handle(async (rec, res) => {
    // Slow enough that requests overlap; the answer is Qwen2.5-VL JSON in the pixels the server received.
    await new Promise((r) => setTimeout(r, 600));
    const { width, height } = rec.images[0]!;
    await streamPieces(res, rec.model, ['```json\n', `[{"bbox_2d": [0, 0, ${Math.round(width / 2)}, ${Math.round(height / 2)}], "label": "spot"}]`, '\n```']);
  });
  try {
    const before = server.requests.length;
    const r = await runner({ remotes: [engine] })(`@model gpu:Qwen/Qwen2.5-VL-7B-Instruct\n@images imgs/*.png\n@task ground\nthe spot`);
    assert.equal(r.success, true, JSON.stringify(r.error ?? r.result?.batch?.error));
    assert.equal(server.requests.length - before, 12);
    assert.equal(server.peak, 8, `peak in flight ${server.peak}`);
    for (const row of lines(sidecarOf(r))) {
      const s = SPOTS.find((x) => x.name === row.image)!;
      const [, , x2, y2] = row.regions[0]!.coords;
      // Half the image, in original pixels, whatever size the server saw.
      assert.ok(Math.abs(x2! - s.w / 2) <= s.w / 50 + 1 && Math.abs(y2! - s.h / 2) <= s.h / 50 + 1, `${row.image}: ${x2},${y2} vs ${s.w / 2},${s.h / 2}`);
    }
  } finally {
    server.handle(undefined);
  }
});

test('unreadable images are error rows and the batch goes on; globs that match nothing or too much fail before anything runs', { timeout: 120_000 }, async () => {
  mkdirSync(join(dir, 'mixed'), { recursive: true });
  writeFileSync(join(dir, 'mixed', 'a.png'), await spotPng(320, 240, [10, 10, 100, 100]));
  writeFileSync(join(dir, 'mixed', 'b-truncated.png'), (await spotPng(320, 240, [10, 10, 100, 100])).subarray(0, 200));
  writeFileSync(join(dir, 'mixed', 'c-text.png'), 'hello, not a PNG');
  writeFileSync(join(dir, 'mixed', 'd.png'), await spotPng(333, 222, [50, 50, 150, 150]));
  const run = runner({ maxImages: 5 });
  const r = await run(`@model ${FLORENCE}\n@images mixed/*.png\n@task caption`);
  assert.equal(r.success, true, `error rows do not fail the batch: ${JSON.stringify(r.error)}`);
  const b = r.result!.batch!;
  assert.deepEqual([b.done, b.ok, b.errors], [4, 2, 2]);
  const rows = lines(sidecarOf(r));
  const errorsOf = Object.fromEntries(rows.map((x) => [x.image, x.error ?? '']));
  assert.match(errorsOf['mixed/b-truncated.png']!, /mixed\/b-truncated\.png|b-truncated\.png/);
  assert.match(errorsOf['mixed/c-text.png']!, /c-text\.png/);
  assert.equal(errorsOf['mixed/a.png'], '');
  const none = await run(`@model ${FLORENCE}\n@images nothing/*.png\n@task caption`);
  assert.match(none.error!.message, /@images nothing\/\*\.png matches no images in /);
  const many = await run(`@model ${FLORENCE}\n@images imgs/*.png\n@task caption`);
  assert.match(many.error!.message, /matches 12 images, more than the batch limit of 5: narrow the glob, or raise the limit \(the test\)/);
  const txt = await run(`@model ${FLORENCE}\n@images *.txt\n@task caption`);
  assert.match(txt.error!.message, /matches no images .*it matched 1 file that is not an image, such as notes\.txt/);
  assert.equal(readdirSync(join(dir, 'b.loupe.runs')).filter((f) => f.endsWith('.tmp')).length, 0);
});

test('side by side in a batch: each model scored against the truth in its own row of the score table', { timeout: 180_000 }, async () => {
  const r = await runner()(`@model ${FLORENCE}, ${QWEN}\n@images imgs/spot-0*.png\n@truth truth.json\n@task ground\nthe spot`);
  assert.equal(r.success, true, JSON.stringify(r.error ?? r.result?.batch?.error));
  const b = r.result!.batch!;
  assert.deepEqual([b.images, b.models, b.done], [10, 2, 20]);
  assert.deepEqual(b.scores!.map((s) => [s.modelIndex, s.images, s.truth]), [[0, 10, 10], [1, 10, 10]]);
  const rows = await readAllRows(sidecarOf(r));
  assert.deepEqual(rows.slice(0, 2).map((x) => [x.index, x.modelIndex]), [[0, 0], [0, 1]]);
});

test('loupe eval prints the score table and the overall hit rate; loupe run/export write COCO and YOLO from the sidecar; a notebook without @truth is a usage error', { timeout: 240_000 }, async () => {
  const { runCli, cellLines, code, notebook } = await import('./helpers/cli');
  const { serializeNotebook } = await import('../src/core/notebook/format');
  writeFileSync(join(dir, 'eval.loupe'), serializeNotebook(notebook([code(`@images imgs/**/*.{png,jpg}\n@truth truth.json\n@task ground\nthe spot`)])));
  const args = (cmd: string, ...more: string[]) => [cmd, 'eval.loupe', '--model', FLORENCE, '--offline', ...more];
  const ev = await runCli(args('eval'), { cwd: dir, timeoutMs: 180_000 });
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /^cell 1: @images imgs\/\*\*\/\*\.\{png,jpg\} against @truth truth\.json\nmodel +images +true boxes +hits +hit rate +mean IoU +point in box\ntiny-florence2 \(cpu, q4\) +13 +13 +1[23] +(9\d|100)\.\d% +0\.\d{3} +-\noverall hit rate: (9\d|100)\.\d%\n/);
  assert.match(cellLines(ev.stderr)[0]!, /^cell 1 {2}ok .* ground {2}batch 13 images: 13 ok, 0 errors; rows in eval\.loupe\.runs\/batch-[0-9a-f]{16}\.jsonl$/);
  assert.match(ev.stderr, /batch \(cell 1\) \[[#-]+\] \d+\/13/, 'progress lines on stderr');
  // Again: everything resumes; --export coco writes the annotations of every row.
  const run = await runCli(args('run', '--export', 'coco', '--out', 'ann'), { cwd: dir, timeoutMs: 180_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.match(cellLines(run.stderr)[0]!, /\(13 from an earlier run\)/);
  const coco = JSON.parse(readFileSync(join(dir, 'ann', 'annotations.coco.json'), 'utf8')) as { images: { file_name: string; width: number; height: number }[]; annotations: { image_id: number; bbox: number[] }[] };
  assert.equal(coco.images.length, 13);
  assert.equal(coco.annotations.length, 13);
  assert.deepEqual(coco.images.find((i) => i.file_name === 'imgs/sub/rotated.jpg') && [400, 300], [400, 300]);
  const yolo = await runCli(['export', 'eval.loupe', '--export', 'yolo', '--out', 'y'], { cwd: dir });
  assert.equal(yolo.code, 0, yolo.stderr);
  assert.match(readFileSync(join(dir, 'y', 'classes.txt'), 'utf8'), /the spot|spot/);
  assert.equal(readFileSync(join(dir, 'y', 'labels', 'imgs', 'sub', 'rotated.txt'), 'utf8').trim().split('\n').length, 1);
  // A limit from the command line; and eval without @truth is a usage error (exit 2).
  const few = await runCli(args('run', '--max-images', '3'), { cwd: dir });
  assert.equal(few.code, 1);
  assert.match(few.stderr, /matches 13 images, more than the batch limit of 3: narrow the glob, or raise the limit \(--max-images\)/);
  writeFileSync(join(dir, 'plain.loupe'), serializeNotebook(notebook([code(`@images imgs/*.png\n@task caption`)])));
  const noTruth = await runCli(['eval', 'plain.loupe', '--model', FLORENCE, '--offline'], { cwd: dir });
  assert.equal(noTruth.code, 2);
  assert.match(noTruth.stderr, /plain\.loupe has no batch cell with @truth to score/);
});

test('the pager reads any page of a batch from its sidecar (thumbnails, scores), and refuses anything that is not a sidecar', { timeout: 120_000 }, async () => {
  const { readPage } = await import('../src/core/batch/page');
  const { parseRendererMessage } = await import('../src/common/renderer-messages');
  const r = await runner()(GROUND);
  const page = await readPage(dir, { sidecar: r.result!.batch!.sidecar, offset: 10, limit: 5, truth: 'truth.json', maxImagePixels: 5e7 });
  assert.deepEqual(page.rows.map((x) => x.index), [10, 11, 12]);
  assert.equal(page.images, 13);
  assert.ok(page.rows.every((x) => x.thumb && x.thumb.width <= 64 && x.score?.truth === 1));
  for (const bad of ['../../etc/passwd', 'b.loupe.runs/../../x.jsonl', 'b.loupe.runs/batch-zz.jsonl', '/tmp/b.loupe.runs/batch-0123456789abcdef.jsonl']) {
    await assert.rejects(readPage(dir, { sidecar: bad, offset: 0, limit: 5, maxImagePixels: 5e7 }), /not a batch sidecar/);
  }
  // The webview's request is checked before the extension acts on it.
  assert.deepEqual(parseRendererMessage({ type: 'batchPage', requestId: 3, sidecar: 'x.runs/batch-0123456789abcdef.jsonl', offset: 20, limit: 20 }), { type: 'batchPage', requestId: 3, sidecar: 'x.runs/batch-0123456789abcdef.jsonl', offset: 20, limit: 20 });
  for (const bad of [{ offset: -1 }, { limit: 0 }, { limit: 1000 }, { requestId: 'x' }, { truth: 3 }]) {
    assert.equal(parseRendererMessage({ type: 'batchPage', requestId: 3, sidecar: 's', offset: 0, limit: 20, ...bad }), undefined, JSON.stringify(bad));
  }
});
