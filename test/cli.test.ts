// `loupe` end to end: dist/cli.js runs notebooks on the fixture models, exports every format, and
// `npm run demo` (scripts/demo.mjs) completes on a fresh copy of the repository with the Hub unreachable.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import Ajv from 'ajv';
import { chromium } from 'playwright-core';
import { parseCliArgs, UsageError } from '../src/cli/args';
import { DownloadBar, formatCellLine } from '../src/cli/progress';
import { RESULT_MIME, type LoupeResult } from '../src/common/result';
import { spotPng } from './helpers/spot';
import { parseNotebook, serializeNotebook, type StoredCell, type StoredNotebook } from '../src/core/notebook/format';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const FLORENCE = join(ROOT, 'test', 'fixtures', 'models', 'tiny-florence2');
const QWEN = join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2vl');
const dir = mkdtempSync(join(tmpdir(), 'loupe-cli-'));
const models = join(dir, 'models');
const ENV = { ...process.env, LOUPE_MODELS_DIR: models, HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: '' };

before(() => {
  // `npm test` builds and generates the fixtures first; a lone `node --test test/cli.test.ts` may not have.
  if (!existsSync(CLI)) assert.equal(spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' }).status, 0);
  if (!existsSync(join(FLORENCE, 'config.json'))) assert.equal(spawnSync(process.execPath, ['--import', 'tsx', 'scripts/fixtures.ts', '--if-missing'], { cwd: ROOT, stdio: 'inherit' }).status, 0);
  cpSync(join(ROOT, 'examples', 'images'), join(dir, 'images'), { recursive: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: opts.env ?? ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const md = (source: string): StoredCell => ({ kind: 'markdown', language: 'markdown', source, metadata: {}, outputs: [] });
const code = (source: string): StoredCell => ({ kind: 'code', language: 'loupe', source, metadata: {}, outputs: [] });

/** Default-model cells run on tiny-florence2 (`--model`); the two-image question names tiny-qwen2vl. */
function writeNotebook(name: string, extra: StoredCell[] = []): string {
  const nb: StoredNotebook = {
    loupe: 1,
    metadata: {},
    cells: [
      md('# CLI test\n\nThe <b>fixture</b> tour.'),
      code('@image images/coffee.png'),
      code('@image images/text.png\n@task ocr-regions'),
      code('@image images/coffee.png\n@task ground\nthe <cup>'),
      code('@image images/coffee.png\n@region [170, 30, 420, 270]\n@task describe-region'),
      code(`@model ${QWEN}\n@image images/chelsea.png\n@image images/rocket.jpg\nWhat differs?`),
      ...extra,
    ],
  };
  const p = join(dir, name);
  writeFileSync(p, serializeNotebook(nb));
  return p;
}

const resultOf = (c: StoredCell) => {
  const it = c.outputs.flatMap((o) => o.items).find((i) => i.mime === RESULT_MIME);
  return it && 'json' in it ? (it.json as unknown as LoupeResult) : undefined;
};
const cellLines = (stderr: string) => stderr.split('\n').filter((l) => /^cell \d+ /.test(l));

let ranNotebook: string;

test('loupe run: every cell runs on the fixtures, outputs are written back, one stderr line per cell, exit 0', { timeout: 90_000 }, async () => {
  ranNotebook = writeNotebook('run.loupe');
  const r = await cli(['run', 'run.loupe', '--model', FLORENCE, '--offline']);
  assert.equal(r.code, 0, r.stderr);
  const lines = cellLines(r.stderr);
  assert.deepEqual(
    lines.map((l) => l.split(/\s+/).slice(0, 3).join(' ')),
    ['cell 2 ok', 'cell 3 ok', 'cell 4 ok', 'cell 5 ok', 'cell 6 ok'],
    r.stderr,
  );
  assert.match(lines[1]!, /^cell 3 {2}ok {4}\s*\d+\.\d s {2}ocr-regions {2}tiny-florence2 \(cpu, q4\) \[fixture\] {2}\d+ tok [\d.]+ tok\/s$/);
  assert.match(lines[4]!, /ask {2}tiny-qwen2vl \(cpu, q4\)/);
  const bytes = readFileSync(ranNotebook);
  const nb = parseNotebook(bytes);
  assert.deepEqual(serializeNotebook(nb), new Uint8Array(bytes), 'written canonically');
  const results = nb.cells.filter((c) => c.kind === 'code').map(resultOf);
  assert.deepEqual(
    results.map((x) => [x?.kind, x?.status, x?.task]),
    [
      ['images', 'ok', 'ask'],
      ['prompt', 'ok', 'ocr-regions'],
      ['prompt', 'ok', 'ground'],
      ['prompt', 'ok', 'describe-region'],
      ['prompt', 'ok', 'ask'],
    ],
  );
  assert.equal(results[1]!.runs[0]!.answer, 'FIXTURE TEXT');
  assert.equal(results[1]!.runs[0]!.regions[0]!.kind, 'quad');
  assert.equal(results[2]!.runs[0]!.regions[0]!.label, 'the <cup>');
  assert.equal(results[4]!.runs[0]!.answer, 'A tiny fixture image with a bright region.');
  assert.ok(results.slice(1).every((x) => x!.runs.every((run) => run.model?.fixture === true)));
  assert.ok(nb.cells[2]!.outputs[0]!.items.some((i) => i.mime === 'image/png' && 'base64' in i), 'PNG fallback stored as base64');
});

test('loupe run: a failing cell exits 1, and the other cells still run; --out leaves the notebook alone', { timeout: 90_000 }, async () => {
  const p = writeNotebook('fail.loupe', [code('@image images/missing.png\n@task caption'), code('@image images/chelsea.png\n@task caption')]);
  const before = readFileSync(p);
  const r = await cli(['run', 'fail.loupe', '--model', FLORENCE, '--out', 'fail-out.loupe']);
  assert.equal(r.code, 1, r.stderr);
  const lines = cellLines(r.stderr);
  assert.equal(lines.length, 7, r.stderr);
  assert.match(lines[5]!, /^cell 7 {2}FAIL .*image not found: images\/missing\.png/);
  assert.match(lines[6]!, /^cell 8 {2}ok /);
  assert.deepEqual(readFileSync(p), before, 'with --out the notebook itself is not rewritten');
  const nb = parseNotebook(readFileSync(join(dir, 'fail-out.loupe')));
  assert.equal(resultOf(nb.cells[7]!)?.runs[0]?.answer, 'A tiny fixture image.');
  assert.equal(resultOf(nb.cells[6]!)?.images[0]?.error, 'image not found: images/missing.png', 'the failed cell says why, under its image');
  assert.match(r.stderr, /7 cells ran, 1 failed/);
});

test('loupe: usage errors exit 2 with the usage text; a model that is not downloaded offline fails the cell', { timeout: 60_000 }, async () => {
  for (const args of [['run'], ['run', 'a.loupe', '--bogus'], ['run', 'a.loupe', '--export', 'pdf'], ['frobnicate'], ['export', 'x.loupe'], ['run', 'nope.loupe']]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^loupe: /, args.join(' '));
  }
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /loupe run <notebook\.loupe>/);
  const p = join(dir, 'offline.loupe');
  writeFileSync(p, serializeNotebook({ loupe: 1, metadata: {}, cells: [code('@image images/coffee.png\n@task caption')] }));
  const r = await cli(['run', p, '--offline']);
  assert.equal(r.code, 1);
  assert.match(cellLines(r.stderr)[0]!, /^cell 1 {2}FAIL .*Model not available offline: onnx-community\/Florence-2-base-ft is not downloaded/);
});

test('loupe models lists the registry with sizes and download state; --download offline fails clearly', { timeout: 30_000 }, async () => {
  const r = await cli(['models', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { modelsDir: string; models: { id: string; downloaded: boolean; sizes: Record<string, number>; capabilities: string[] }[] };
  assert.equal(list.modelsDir, models);
  assert.deepEqual(list.models.map((m) => m.id), ['florence-2-base', 'florence-2-large', 'qwen2-vl-2b', 'omniparser-icon-detect', 'smolvlm-256m', 'smolvlm-500m', 'smolvlm2-256m-video', 'smolvlm2-500m-video']);
  assert.ok(list.models.every((m) => !m.downloaded && m.sizes.q4! > 0 && m.capabilities.length > 0));
  const text = await cli(['models']);
  assert.match(text.stdout, /florence-2-base \(default\) {2}not downloaded\n.*\n {2}tasks: caption, .*\n {2}sizes: fp32 1\.1 GB, fp16 540\.0 MB/);
  const d = await cli(['models', '--download', 'florence-2-base', '--offline']);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /not downloaded, and downloads are off/);
  // A CLI user is told the CLI's way to work offline, not a VS Code setting.
  assert.match(d.stderr, /--offline/);
  assert.match(d.stderr, /--alias/);
  assert.match(d.stderr, /LOUPE_MODELS_DIR/);
  assert.doesNotMatch(d.stderr, /loupe\.allowDownloads/);
});

test('loupe export: ipynb valid against nbformat 4.5; md links resolve; json has hashes and models', { timeout: 60_000 }, async () => {
  assert.ok(ranNotebook, 'the run test ran first');
  const ipynb = await cli(['export', 'run.loupe', '--export', 'ipynb']);
  assert.equal(ipynb.code, 0, ipynb.stderr);
  assert.equal(ipynb.stdout.trim(), join(dir, 'run.ipynb'));
  const schema = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'nbformat', 'nbformat.v4.5.schema.json'), 'utf8')) as Record<string, unknown>;
  delete schema.$schema; // draft-04; see test/fixtures/nbformat/README.md
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  const doc = JSON.parse(readFileSync(join(dir, 'run.ipynb'), 'utf8')) as { cells: { cell_type: string; outputs?: { data?: Record<string, unknown> }[] }[] };
  assert.ok(validate(doc), JSON.stringify(validate.errors, null, 1));
  const ground = doc.cells[3]!.outputs![0]!.data!;
  assert.equal(typeof ground['image/png'], 'string');
  assert.ok(Array.isArray(ground['text/plain']));
  assert.equal((ground[RESULT_MIME] as LoupeResult).task, 'ground');

  const mdOut = await cli(['export', 'run.loupe', '--export', 'md', '--out', 'out/report.md']);
  assert.equal(mdOut.code, 0, mdOut.stderr);
  const mdPath = join(dir, 'out', 'report.md');
  const text = readFileSync(mdPath, 'utf8');
  const links = [...text.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
  assert.equal(links.length, 6, text);
  for (const l of links) {
    assert.match(l, /^report_files\/cell-\d+-image-\d\.png$/);
    assert.ok(existsSync(resolve(dirname(mdPath), decodeURI(l))), `${l} resolves`);
  }
  assert.match(text, /the \\<cup\\>/);

  const json = await cli(['export', 'run.loupe', '--export', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const rec = JSON.parse(readFileSync(join(dir, 'run.session.json'), 'utf8')) as {
    fixture: boolean;
    models: { id: string; revision: string; provider: string; dtype: string }[];
    cells: { cell: number; images: { path: string; sha256: string }[]; runs: { seed?: number; stats: Record<string, number> }[]; timings: Record<string, number> }[];
  };
  assert.equal(rec.fixture, true);
  assert.deepEqual(rec.models.map((m) => [m.id, m.revision, m.provider, m.dtype]), [
    [FLORENCE, 'local', 'cpu', 'q4'],
    [QWEN, 'local', 'cpu', 'q4'],
  ]);
  const coffee = rec.cells[0]!.images[0]!;
  assert.equal(coffee.path, join(dir, 'images', 'coffee.png'));
  assert.equal(coffee.sha256, (await import('node:crypto')).createHash('sha256').update(readFileSync(coffee.path)).digest('hex'));
  assert.equal(typeof rec.cells[2]!.runs[0]!.seed, 'number');
  assert.equal(typeof rec.cells[2]!.runs[0]!.stats.generatedTokens, 'number');
  assert.equal(typeof rec.cells[2]!.timings.generateMs, 'number');
});

test('loupe run --export html: one offline file; in Chromium the images load inline and the boxes sit on them', { timeout: 90_000 }, async () => {
  writeFileSync(join(dir, 'spot.png'), await spotPng(600, 400, [360, 80, 480, 160]));
  const p = writeNotebook('html.loupe', [code('@image spot.png\n@task ground\nthe lamp')]);
  const r = await cli(['run', p, '--model', FLORENCE, '--export', 'html', '--out', 'page/tour.html']);
  assert.equal(r.code, 0, r.stderr);
  const html = join(dir, 'page', 'tour.html');
  assert.equal(r.stdout.trim(), html);
  const nb = parseNotebook(readFileSync(p));
  const ground = resultOf(nb.cells[6]!)!;
  const box = ground.runs[0]!.regions[0]!.coords;
  assert.ok(Math.abs(box[0]! - 360) <= 25 && Math.abs(box[2]! - 480) <= 25, `the fixture found the spot: ${box}`);

  const browser = await chromium.launch({ executablePath: process.env.LOUPE_E2E_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    for (const scheme of ['light', 'dark'] as const) {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, colorScheme: scheme });
      const outside: string[] = [];
      page.on('request', (req) => {
        if (!/^(file|data|blob):/.test(req.url())) outside.push(req.url());
      });
      await page.goto(`file://${html}`, { waitUntil: 'load' });
      const imgs = await page.$$eval('img', (els) => els.map((e) => ({ src: (e as HTMLImageElement).src.slice(0, 30), ok: (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0 })));
      assert.equal(imgs.length, 7);
      assert.ok(imgs.every((i) => i.ok && /^data:image\/(png|jpeg);base64,/.test(i.src)), JSON.stringify(imgs));
      // The ground cell's box: its screen rectangle is the region's pixels scaled to the shown image.
      const geo = await page.$eval('#cell-7 figure.shot', (fig) => {
        const img = fig.querySelector('img')!.getBoundingClientRect();
        const rect = fig.querySelector('svg.overlay rect.region')!.getBoundingClientRect();
        const chip = fig.querySelector('.chip')!.textContent;
        return { img: [img.left, img.top, img.width, img.height], rect: [rect.left, rect.top, rect.width, rect.height], chip };
      });
      const [il, it, iw, ih] = geo.img;
      const s = iw! / 600;
      assert.ok(Math.abs(ih! / 400 - s) < 0.01, 'aspect kept');
      const want = [il! + box[0]! * s, it! + box[1]! * s, (box[2]! - box[0]!) * s, (box[3]! - box[1]!) * s];
      geo.rect.forEach((v, k) => assert.ok(Math.abs(v - want[k]!) <= 3, `rect ${geo.rect} vs ${want}`));
      assert.equal(geo.chip, 'the lamp');
      assert.equal(await page.locator('#cell-4 .chip').textContent(), 'the <cup>', 'label text shown literally');
      assert.equal(await page.locator('#cell-5 svg.overlay rect.asked').count(), 2, 'the @region asked about is drawn');
      assert.equal(await page.locator('.badge.fixture').count() > 0, true);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, scheme === 'dark' ? 'rgb(13, 17, 23)' : 'rgb(255, 255, 255)');
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'test-results', scheme === 'light' ? 'export-html.png' : 'export-html-dark.png'), fullPage: true });
      assert.deepEqual(outside, [], 'no network request');
      await page.close();
    }
  } finally {
    await browser.close();
  }
});

test('npm run demo on a fresh copy with the Hub unreachable: says so, runs the fixtures, writes tour.html marked as fixture', { timeout: 120_000 }, () => {
  // A fresh clone: the tracked and new files of this working tree, node_modules linked (so no `npm ci`), no dist, no fixtures.
  const clone = join(dir, 'clone');
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(ROOT, f))) continue; // deleted in the working tree
    mkdirSync(dirname(join(clone, f)), { recursive: true });
    cpSync(join(ROOT, f), join(clone, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  const env: NodeJS.ProcessEnv = { ...ENV, LOUPE_MODELS_DIR: join(dir, 'demo-models') };
  delete env.LOUPE_DEMO_OUT;
  const r = spawnSync(process.execPath, ['scripts/demo.mjs'], { cwd: clone, env, encoding: 'utf8', timeout: 110_000 });
  const all = r.stdout + r.stderr;
  assert.equal(r.status, 0, all);
  assert.match(r.stdout, /The Hugging Face Hub cannot be reached \(http:\/\/127\.0\.0\.1:9: [^)]+\): running the fixture models instead; every answer in tour\.html is marked as coming from a fixture\./);
  assert.equal(cellLines(r.stderr).length, 13, r.stderr);
  assert.ok(cellLines(r.stderr).every((l) => / ok /.test(l)), r.stderr);
  const html = readFileSync(join(clone, 'tour.html'), 'utf8');
  const answers = [...html.matchAll(/<div class="result" data-kind="prompt"[^>]*>/g)].map((m) => m[0]);
  // Four about images, three about the screen, two about the clip (grounding across frames, a question).
  assert.equal(answers.length, 9);
  assert.ok(answers.every((a) => a.includes('data-fixture="true"')), 'every answer is marked as a fixture');
  assert.match(html, /class="fixture-banner"[^>]*data-fixture-count="9"/);
  assert.equal((html.match(/<div class="images filmstrip">/g) ?? []).length, 3, 'the video cells as filmstrips');
  assert.deepEqual(readFileSync(join(clone, 'examples', 'tour.loupe')), readFileSync(join(ROOT, 'examples', 'tour.loupe')), 'the committed tour is not rewritten');
});

test('argument parser and progress lines', () => {
  assert.deepEqual(parseCliArgs(['run', 'a.loupe', '--model', 'x', '--dtype', 'q4', '--export', 'markdown', '-o', 'o.md', '--offline', '--alias', 'a=b', '--alias', 'c=d']), {
    command: 'run',
    notebook: 'a.loupe',
    model: 'x',
    device: 'auto',
    dtype: 'q4',
    export: 'md',
    out: 'o.md',
    offline: true,
    aliases: { a: 'b', c: 'd' },
    verbose: false,
    hostTimeoutSeconds: 120,
  });
  assert.deepEqual(parseCliArgs(['export', 'a.loupe', '--export', 'ipynb']), { command: 'export', notebook: 'a.loupe', export: 'ipynb', out: undefined });
  assert.deepEqual(parseCliArgs(['models', '--download', 'qwen2-vl-2b']), { command: 'models', download: 'qwen2-vl-2b', dtype: 'auto', json: false, offline: false });
  assert.deepEqual(parseCliArgs([]), { command: 'help', topic: undefined });
  for (const bad of [['run'], ['run', 'a', 'b'], ['run', 'a', '--device', 'tpu'], ['export', 'a', '--model', 'x'], ['models', 'x'], ['run', 'a', '--alias', 'nope'], ['zap']]) {
    assert.throws(() => parseCliArgs(bad), UsageError, bad.join(' '));
  }
  const run = { images: [1], model: { id: '/m/tiny-florence2', provider: 'cpu', dtype: 'q4' }, status: 'ok' as const, answer: '', regions: [], warnings: [], stats: { generatedTokens: 12, tokensPerSecond: 85 } };
  const r: LoupeResult = { version: 2, kind: 'prompt', status: 'ok', task: 'ground', images: [], runs: [run], params: {}, timings: {}, warnings: [] };
  assert.equal(formatCellLine(3, true, 1234, r, undefined), 'cell 3  ok     1.2 s  ground  tiny-florence2 (cpu, q4)  12 tok 85 tok/s');
  assert.equal(formatCellLine(4, false, 50, undefined, 'Bad input: image not found: x.png\nmore'), 'cell 4  FAIL   0.1 s  Bad input: image not found: x.png');

  const p = { file: 'onnx/a.onnx', fileBytes: 50, fileTotal: 100, bytes: 512 * 1024, total: 1024 * 1024, filesDone: 1, filesTotal: 3 };
  let tty = '';
  const bar = new DownloadBar({ isTTY: true, columns: 200, write: (s: string) => (tty += s) }, 'downloading x');
  bar.update(p);
  bar.update({ ...p, bytes: 1024 * 1024, done: true });
  assert.equal(tty, '\r\x1b[2Kdownloading x [############------------]  50% 512.0 KB / 1.0 MB  onnx/a.onnx (1/3 files)\r\x1b[2Kdownloading x [########################] 100% 1.0 MB / 1.0 MB  done\n');
  let plain = '';
  const log = new DownloadBar({ write: (s: string) => (plain += s) }, 'dl');
  for (let b = 0; b <= 100; b++) log.update({ ...p, bytes: b * 10_000, total: 1_000_000 });
  log.end();
  assert.equal(plain.split('\n').filter(Boolean).length, 11, 'a plain line every 10 %, no \\r');
  assert.doesNotMatch(plain, /\r/);
});
