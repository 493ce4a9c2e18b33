// Fault injection, bad input that used to be accepted: regions outside the image, a plain question with no
// model named, a 64-bit float TIFF, a prompt a task ignores, and exports that left outputs out without a word.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseNotebook, serializeNotebook } from '../../src/core/notebook/format';
import { floatTiff } from '../helpers/images';
import { spotPng } from '../helpers/spot';
import { cellLines, code, ensureBuilt, FIXTURE_ALIASES, FLORENCE, notebook, resultOf, ROOT, runCli } from '../helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'loupe-inputs-'));
before(async () => {
  ensureBuilt();
  cpSync(join(ROOT, 'examples', 'images'), join(dir, 'images'), { recursive: true });
  writeFileSync(join(dir, 'page.png'), await spotPng(741, 500, [600, 380, 700, 460]));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const run = async (name: string, sources: string[], ...more: string[]) => {
  const p = join(dir, name);
  writeFileSync(p, serializeNotebook(notebook(sources.map(code))));
  const r = await runCli(['run', name, ...more], { cwd: dir });
  return { r, nb: parseNotebook(readFileSync(p)) };
};

test('a region wholly outside the image is an error naming the image size; partly outside is clamped with a warning, also in the HTML export', { timeout: 60_000 }, async () => {
  const { r, nb } = await run(
    'regions.loupe',
    ['@image page.png\n@region [5000, 5000, 6000, 6000]\n@task describe-region', '@image page.png\n@region [700, 400, 900, 600]\n@task describe-region'],
    '--model', FLORENCE, '--offline', '--export', 'html',
  );
  const lines = cellLines(r.stderr);
  assert.match(lines[0]!, /FAIL .*@region \[5000, 5000, 6000, 6000\] \(line 2\) lies outside image 1, which is 741×500 pixels/);
  assert.match(lines[1]!, /^cell 2 {2}ok/);
  const clamped = resultOf(nb.cells[1]!)!;
  assert.deepEqual(clamped.warnings, ['@region [700, 400, 900, 600] (line 2) reached outside image 1 (741×500 pixels) and was clamped to [700, 400, 741, 500].']);
  // The model was asked about the clamped box: Florence's <loc_N> of x2 = 741 is the last bin.
  assert.match(clamped.runs[0]!.raw ?? '', /<loc_944><loc_800><loc_999><loc_999>/);
  const html = readFileSync(join(dir, 'regions.html'), 'utf8');
  const asked = [...html.matchAll(/<rect class="asked"[^>]* x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => m.slice(1).map(Number));
  assert.ok(asked.length >= 1);
  for (const [x, y, w, h] of asked) assert.ok(x! + w! <= 741 && y! + h! <= 500, `the asked region is drawn inside the image: ${[x, y, w, h]}`);
});

test('a plain question with no @model runs on the default model for questions, and says which model ran', { timeout: 60_000 }, async () => {
  const { r, nb } = await run('ask.loupe', ['@image images/coffee.png\nWhat is on the saucer?'], ...FIXTURE_ALIASES);
  assert.equal(r.code, 0, r.stderr);
  const res = resultOf(nb.cells[0]!)!;
  assert.equal(res.runs[0]!.answer, 'A tiny fixture image with a bright region.');
  assert.equal(res.runs[0]!.model?.id, join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2vl'));
  assert.deepEqual(res.notes, ['No @model: ran qwen2-vl-2b, the default model for @task ask.']);
  assert.match(cellLines(r.stderr)[0]!, /ok .* ask {2}tiny-qwen2vl/);
});

test('a 64-bit float multipage TIFF is an unsupported sample format, not "corrupt"; a prompt the task ignores is a warning', { timeout: 60_000 }, async () => {
  writeFileSync(join(dir, 'float.tif'), floatTiff(40, 30, 3));
  const { r, nb } = await run('tiff.loupe', ['@image float.tif', '@image images/coffee.png\n@task caption\nBe brief.'], '--model', FLORENCE, '--offline');
  const lines = cellLines(r.stderr);
  assert.match(lines[0]!, /FAIL .*float\.tif is a TIFF of 64-bit floating-point samples \(3 pages\), a sample format Loupe cannot decode/);
  assert.doesNotMatch(lines[0]!, /corrupt/);
  const caption = resultOf(nb.cells[1]!)!;
  assert.equal(caption.status, 'ok');
  assert.deepEqual(caption.warnings, ['tiny-florence2 runs @task caption with an instruction of its own: the prompt ("Be brief.") was not used. Use @task ask to ask in your own words.'.replace('tiny-florence2', FLORENCE)]);
});

test('exports say what they leave out: outputs they cannot show, and text over the size limit', { timeout: 60_000 }, async () => {
  const big = 'x'.repeat(2 * 1024 * 1024);
  const nb = notebook([code('@image images/coffee.png')]);
  nb.cells[0]!.outputs = [{ items: [{ mime: 'image/svg+xml', text: '<svg xmlns="http://www.w3.org/2000/svg"/>' }, { mime: 'text/plain', text: big }] }];
  writeFileSync(join(dir, 'other.loupe'), serializeNotebook(nb));
  for (const [format, file] of [['html', 'other.html'], ['md', 'other.md']] as const) {
    const r = await runCli(['export', 'other.loupe', '--export', format], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(dir, file), 'utf8');
    assert.match(text, /Not in this export: image\/svg\+xml output of 41 bytes left out \(this export shows text and images only\)/);
    assert.match(text, /Not in this export: text output cut at 1\.0 MB of 2\.0 MB/);
    assert.ok(text.length < 1.5 * 1024 * 1024, `${format}: the text was cut`);
  }
});
