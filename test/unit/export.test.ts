// Exports (HTML, Markdown + images, .ipynb, JSON session record) from a stored notebook with known results.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import sharp from 'sharp';
import { labelColor } from '../../src/common/colors';
import { ERROR_MIME, RESULT_MIME, readResult, type LoupeResult } from '../../src/common/result';
import { escapeMarkdown, markdownText } from '../../src/core/export/common';
import { exportNotebook, renderHtml, sessionRecord, toIpynb } from '../../src/core/export';
import { markdownToHtml } from '../../src/core/export/minimark';
import { parseNotebook, type StoredNotebook } from '../../src/core/notebook/format';
import { spotPng } from '../helpers/spot';

const SCHEMA = join(import.meta.dirname, '..', 'fixtures', 'nbformat', 'nbformat.v4.5.schema.json');

/** The nbformat 4.5 schema (draft-04) compiled by Ajv 8: `$schema` dropped, non-strict (see the README next to it). */
export function nbformatValidator() {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  const ajv = new Ajv({ strict: false, allErrors: true });
  return ajv.compile(schema);
}

const dir = mkdtempSync(join(tmpdir(), 'loupe-export-'));

async function fixtureNotebook(): Promise<{ nb: StoredNotebook; png: Buffer }> {
  const png = await spotPng(300, 200, [150, 50, 250, 150]);
  writeFileSync(join(dir, 'spot.png'), png);
  const display = await sharp(png).resize(150).png().toBuffer(); // a half-size display copy
  const result: LoupeResult = {
    version: 2,
    kind: 'prompt',
    status: 'ok',
    task: 'ground',
    images: [{ index: 1, source: 'spot.png', width: 300, height: 200, format: 'png', display: { mime: 'image/png', data: display.toString('base64'), width: 150, height: 100 } }],
    prompt: 'the <b>lamp</b>',
    runs: [
      {
        images: [1],
        model: { id: '/x/tiny-florence2', revision: 'local', dtype: 'q4', provider: 'cpu', fixture: true },
        status: 'ok',
        answer: 'the <script>alert(1)</script> *lamp* [x](http://evil.example)',
        regions: [
          { image: 1, label: 'the lamp', kind: 'box', coords: [150, 50, 250, 150] },
          { image: 1, label: 'text', kind: 'quad', coords: [10, 10, 60, 10, 60, 40, 10, 40] },
          { image: 1, label: '', kind: 'point', coords: [280, 180] },
        ],
        warnings: [],
        stats: { generatedTokens: 12, tokensPerSecond: 85 },
        seed: 7,
      },
    ],
    params: { seed: 7, max_new_tokens: 20 },
    timings: { totalMs: 1234 },
    warnings: ['a <warning>'],
  };
  const enc = (v: unknown) => ({ json: JSON.parse(JSON.stringify(v)) });
  const nb: StoredNotebook = {
    loupe: 1,
    metadata: {},
    cells: [
      { kind: 'markdown', language: 'markdown', source: '# Export *test*\n\n<img src="http://evil.example/x.png"> and `code`', metadata: {}, outputs: [] },
      {
        kind: 'code',
        language: 'loupe',
        source: '@image spot.png\n@region [20, 20, 80, 60]\n@task ground\nthe <b>lamp</b>',
        metadata: {},
        outputs: [{ items: [{ mime: RESULT_MIME, ...enc(result) }, { mime: 'image/png', base64: png.toString('base64') }, { mime: 'text/plain', text: 'the lamp\nline 2' }], metadata: { loupe: { timings: { totalMs: 1234 } } } }],
      },
      { kind: 'code', language: 'loupe', source: '@image nope.png\n@task caption', metadata: {}, outputs: [{ items: [{ mime: ERROR_MIME, ...enc({ name: 'Bad input', message: 'image not found: nope.png\nsecond line', stack: '' }) }] }] },
      { kind: 'code', language: 'loupe', source: '@image spot.png', metadata: {}, outputs: [] },
    ],
  };
  return { nb, png };
}

test('ipynb: valid nbformat 4.5, markdown cells, prompt cells as code cells with png, text and Loupe JSON, errors as error outputs', async () => {
  const { nb, png } = await fixtureNotebook();
  const ipynb = toIpynb(nb);
  const validate = nbformatValidator();
  assert.ok(validate(ipynb), JSON.stringify(validate.errors, null, 1));
  assert.deepEqual([ipynb.nbformat, ipynb.nbformat_minor], [4, 5]);
  assert.deepEqual(
    ipynb.cells.map((c) => c.cell_type),
    ['markdown', 'code', 'code', 'code'],
  );
  assert.equal(new Set(ipynb.cells.map((c) => c.id)).size, 4, 'cell ids are unique');
  const [md, ok, bad, notRun] = ipynb.cells;
  assert.deepEqual(md!.source, ['# Export *test*\n', '\n', '<img src="http://evil.example/x.png"> and `code`']);
  assert.equal(ok!.execution_count, 1);
  const out = ok!.outputs![0]!;
  assert.equal(out.output_type, 'display_data');
  assert.equal(out.data!['image/png'], png.toString('base64'));
  assert.deepEqual(out.data!['text/plain'], ['the lamp\n', 'line 2']);
  assert.equal((out.data![RESULT_MIME] as unknown as LoupeResult).runs[0]!.answer.includes('<script>'), true, 'Loupe JSON kept as is');
  assert.deepEqual(bad!.outputs, [{ output_type: 'error', ename: 'Bad input', evalue: 'image not found: nope.png\nsecond line', traceback: ['image not found: nope.png', 'second line'] }]);
  assert.equal(notRun!.execution_count, null);
  // The schema really checks: a cell without an id is refused.
  const broken = structuredClone(ipynb);
  delete (broken.cells[0] as { id?: string }).id;
  assert.equal(validate(broken), false);
});

test('Markdown: image links resolve to PNGs with the regions burned in; answers are escaped text', async () => {
  const { nb } = await fixtureNotebook();
  const nbPath = join(dir, 'note.loupe');
  const res = await exportNotebook(nb, 'md', { notebookPath: nbPath });
  assert.equal(res.path, join(dir, 'note.md'));
  const md = readFileSync(res.path, 'utf8');
  const links = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
  assert.deepEqual(links, ['note_files/cell-2-image-1.png']);
  for (const l of links) assert.ok(existsSync(resolve(dirname(res.path), decodeURI(l))), `${l} exists`);
  // The box's left edge at x = 150 natural = 75 in the display copy, in the label's colour.
  const { data, info } = await sharp(join(dir, 'note_files', 'cell-2-image-1.png')).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 150);
  const c = labelColor('the lamp');
  const want = [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16));
  const px = [...data.subarray((75 * info.width + 75) * info.channels, (75 * info.width + 75) * info.channels + 3)];
  assert.ok(px.every((v, i) => Math.abs(v - want[i]!) < 40), `edge pixel ${px} vs ${want}`);
  assert.doesNotMatch(md, /<script>/);
  assert.ok(md.includes('the \\<script\\>alert(1)\\</script\\> \\*lamp\\* \\[x\\](http://evil.example)'), 'answer escaped');
  assert.match(md, /- the lamp `\[150, 50, 250, 150\]`/);
  assert.match(md, /\*\*\(fixture model\)\*\*/);
  assert.ok(md.includes('> **Bad input:** image not found: nope.png\\\n> second line'), 'error as a quote');
});

test('HTML: one file, inline images, SVG overlays in natural pixels, escaped answers, fixture badge, dark mode', async () => {
  const { nb } = await fixtureNotebook();
  const html = renderHtml(nb, { name: 'note', notebookDir: dir, notebookName: 'note.loupe' });
  assert.doesNotMatch(html, /<script/i, 'no script at all, answers and markdown escaped');
  assert.match(html, /the &lt;script&gt;alert\(1\)&lt;\/script&gt; \*lamp\*/);
  assert.match(html, /&lt;img src=&quot;http:\/\/evil\.example\/x\.png&quot;&gt;/, 'HTML in a markdown cell is shown as text');
  const srcs = [...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1]!);
  assert.ok(srcs.length === 1 && srcs.every((s) => s.startsWith('data:image/png;base64,')), 'only inline images');
  assert.doesNotMatch(html, /<link|@import|url\(/i);
  assert.match(html, /<svg class="overlay"[^>]*viewBox="0 0 300 200"/);
  assert.match(html, /<rect class="region"[^>]*x="150" y="50" width="100" height="100"/);
  assert.match(html, /<polygon class="region"[^>]*points="10 10 60 10 60 40 10 40"/);
  assert.match(html, /<circle class="region"[^>]*cx="280" cy="180"/);
  assert.match(html, /<rect class="asked" data-asked="true"[^>]* x="20" y="20" width="60" height="40"/, 'the @region asked about, dashed');
  assert.match(html, /class="chip" data-region="0" style="left:50%;top:25%/);
  assert.match(html, /prefers-color-scheme: dark/);
  assert.match(html, /class="badge fixture"/);
  assert.match(html, /class="fixture-banner"/);
  assert.match(html, /<strong>Bad input<\/strong>image not found: nope\.png/);
  assert.match(html, /<h1>Export <em>test<\/em><\/h1>/);
});

test('JSON session record: model, parameters, seed, prompt, images with SHA-256, answers, regions, timings', async () => {
  const { nb, png } = await fixtureNotebook();
  const rec = await sessionRecord(nb, { name: 'note', notebookDir: dir, notebookName: 'note.loupe', now: () => new Date(0) });
  assert.equal(rec.exportedAt, '1970-01-01T00:00:00.000Z');
  assert.equal(rec.fixture, true);
  assert.deepEqual(rec.models, [{ id: '/x/tiny-florence2', revision: 'local', dtype: 'q4', provider: 'cpu', fixture: true }]);
  const [c2, c3, c4] = rec.cells;
  assert.equal(c2!.cell, 2);
  assert.equal(c2!.runs.length, 1);
  assert.equal(c2!.runs[0]!.seed, 7);
  assert.equal(c2!.runs[0]!.model?.id, '/x/tiny-florence2');
  assert.equal(c2!.prompt, 'the <b>lamp</b>');
  assert.deepEqual(c2!.params, { seed: 7, max_new_tokens: 20 });
  assert.equal(c2!.images[0]!.path, join(dir, 'spot.png'));
  assert.equal(c2!.images[0]!.sha256, createHash('sha256').update(png).digest('hex'));
  assert.equal(c2!.runs[0]!.regions.length, 3);
  assert.equal(c2!.timings.totalMs, 1234);
  assert.equal(c3!.status, 'error');
  assert.deepEqual(c3!.errors, [{ name: 'Bad input', message: 'image not found: nope.png\nsecond line' }]);
  assert.equal(c4!.status, 'not-run');
  const written = await exportNotebook(nb, 'json', { notebookPath: join(dir, 'note.loupe') });
  assert.equal(written.path, join(dir, 'note.session.json'));
  assert.equal(JSON.parse(readFileSync(written.path, 'utf8')).cells.length, 3);
});

test('Markdown escaping and the mini Markdown renderer never let markup through', () => {
  assert.equal(escapeMarkdown('a*b_[c](d)<e>#'), 'a\\*b\\_\\[c\\](d)\\<e\\>#');
  assert.equal(escapeMarkdown('# h'), '\\# h');
  assert.equal(escapeMarkdown('- x'), '\\- x');
  assert.equal(escapeMarkdown('12. x'), '12\\. x');
  assert.equal(markdownText('one\ntwo\n\nthree'), 'one\\\ntwo\n\nthree');
  assert.equal(markdownToHtml('**bold** <i>x</i> [a](javascript:alert(1)) [b](https://e.x/)'), '<p><strong>bold</strong> &lt;i&gt;x&lt;/i&gt; [a](javascript:alert(1)) <a href="https://e.x/" rel="noreferrer">b</a></p>');
  assert.equal(markdownToHtml('- a\n- `<b>`\n\n```\n<x>\n```'), '<ul><li>a</li><li><code>&lt;b&gt;</code></li></ul>\n<pre><code>&lt;x&gt;</code></pre>');
  assert.equal(markdownToHtml('![alt](http://e.x/i.png)'), '<p><span class="md-image">[alt]</span></p>');
});

test('a notebook written by Loupe 0.1 (result schema v1) opens, reads as runs and exports to every format', async () => {
  const folder = join(import.meta.dirname, '..', 'fixtures', 'notebooks', 'v1');
  const nb = parseNotebook(readFileSync(join(folder, 'v1.loupe')));
  const stored = nb.cells.flatMap((c) => c.outputs.flatMap((o) => o.items)).filter((i) => i.mime === RESULT_MIME);
  assert.ok(stored.length >= 6 && stored.every((i) => 'json' in i && (i.json as { version: number }).version === 1), 'the fixture really is version 1');
  const results = stored.map((i) => readResult((i as { json: unknown }).json)!);
  assert.ok(results.every((r) => r.version === 2));
  const [images, ocr, detect, describe, ask] = results;
  assert.deepEqual([images!.kind, images!.runs], ['images', []]);
  assert.equal(ocr!.runs[0]!.answer, 'FIXTURE TEXT');
  assert.equal(ocr!.runs[0]!.regions[0]!.kind, 'quad');
  // The fan-out answers, joined as "Image 1: …\n\nImage 2: …" in v1, are one run per image with spans of their own.
  assert.deepEqual(detect!.runs.map((r) => [r.images, r.answer, r.regions.map((g) => [g.image, g.span])]), [
    [[1], 'bright region', [[1, [0, 13]]]],
    [[2], 'bright region', [[2, [0, 13]]]],
  ]);
  assert.equal(describe!.runs[0]!.answer, 'a region of the fixture image');
  assert.equal(ask!.runs[0]!.model?.id, 'tiny-qwen2vl');
  assert.ok(results.slice(1, 5).every((r) => r.runs.every((x) => x.model?.fixture === true)));

  const out = mkdtempSync(join(tmpdir(), 'loupe-v1-'));
  const html = readFileSync((await exportNotebook(nb, 'html', { notebookPath: join(folder, 'v1.loupe'), outPath: join(out, 'v1.html') })).path, 'utf8');
  assert.match(html, /<strong class="run-head">Image 1:<\/strong> bright region/);
  assert.match(html, /<strong class="run-head">Image 2:<\/strong> bright region/);
  assert.equal([...html.matchAll(/<rect class="region"/g)].length, 2, 'both detection boxes are drawn');
  const md = readFileSync((await exportNotebook(nb, 'md', { notebookPath: join(folder, 'v1.loupe'), outPath: join(out, 'v1.md') })).path, 'utf8');
  assert.match(md, /\*\*Image 2:\*\* bright region/);
  const ipynb = JSON.parse(readFileSync((await exportNotebook(nb, 'ipynb', { notebookPath: join(folder, 'v1.loupe'), outPath: join(out, 'v1.ipynb') })).path, 'utf8'));
  assert.equal(nbformatValidator()(ipynb), true);
  const session = JSON.parse(readFileSync((await exportNotebook(nb, 'json', { notebookPath: join(folder, 'v1.loupe'), outPath: join(out, 'v1.session.json') })).path, 'utf8'));
  assert.deepEqual(session.cells[2].runs.map((r: { answer: string }) => r.answer), ['bright region', 'bright region']);
  assert.equal(session.cells[5].status, 'error');
});

test('side by side: every export keeps each model\'s run (model, engine, timings), regions in their model\'s colour, a failed model\'s error in its place', async () => {
  const png = await spotPng(300, 200, [150, 50, 250, 150]);
  writeFileSync(join(dir, 'side.png'), png);
  const run = (modelIndex: number, model: LoupeResult['runs'][number]['model'], answer: string, coords: number[], error?: string): LoupeResult['runs'][number] => ({
    images: [1], modelIndex, model, status: error ? 'error' : 'ok', answer, regions: coords.length ? [{ image: 1, label: 'lamp', kind: 'box', coords }] : [], warnings: [], stats: { totalMs: 900 + modelIndex * 1000, generatedTokens: 8 }, ...(error ? { error } : {}),
  });
  const result: LoupeResult = {
    version: 2, kind: 'prompt', status: 'error', task: 'ground', prompt: 'the lamp', params: {}, timings: { totalMs: 2000 }, warnings: [],
    images: [{ index: 1, source: 'side.png', width: 300, height: 200, format: 'png', display: { mime: 'image/png', data: png.toString('base64'), width: 300, height: 200 } }],
    runs: [
      run(0, { id: 'qwen2-vl-2b', engine: 'local', revision: 'abc123', provider: 'cpu', dtype: 'q4' }, 'the lamp', [150, 50, 250, 150]),
      run(1, { id: 'gpu:Qwen/Qwen2.5-VL-7B-Instruct', engine: 'gpu', revision: 'Qwen/Qwen2.5-VL-7B-Instruct', provider: 'vLLM' }, 'the lamp, top right', [10, 10, 60, 40]),
      run(2, { id: 'gpu:nope' }, '', [], 'Model not served: engine gpu has no model "nope".'),
    ],
  };
  const nb: StoredNotebook = { loupe: 1, metadata: {}, cells: [{ kind: 'code', language: 'loupe', source: '@model qwen2-vl-2b, gpu:Qwen/Qwen2.5-VL-7B-Instruct, gpu:nope\n@image side.png\n@task ground\nthe lamp', metadata: {}, outputs: [{ items: [{ mime: RESULT_MIME, json: JSON.parse(JSON.stringify(result)) }] }] }] };
  const html = renderHtml(nb, { name: 'side', notebookDir: dir });
  assert.match(html, /qwen2-vl-2b \(cpu, q4\) vs gpu:Qwen\/Qwen2\.5-VL-7B-Instruct \(vLLM\) vs gpu:nope/, 'the summary names every model');
  assert.match(html, /class="legend"><span class="legend-item" data-model-index="0"><span class="swatch" style="background:#4363d8">/);
  assert.match(html, /<rect class="region"[^>]*stroke="#4363d8"[^>]* x="150"/, "model 1 blue");
  assert.match(html, /<rect class="region"[^>]*stroke="#f58231"[^>]* x="10"/, "model 2 orange");
  assert.match(html, /<div class="answer column" data-run="1" data-model-index="1"[^>]*><strong class="run-head">gpu:Qwen\/Qwen2\.5-VL-7B-Instruct \(vLLM\) \(1\.9 s, 8 tok\):<\/strong>\nthe lamp, top right<\/div>/);
  assert.match(html, /<div class="answer column run-error" data-run="2"[^>]*><strong class="run-head">gpu:nope \(2\.9 s, 8 tok\):<\/strong>\nModel not served: engine gpu has no model &quot;nope&quot;\.<\/div>/);
  const md = readFileSync((await exportNotebook(nb, 'md', { notebookPath: join(dir, 'side.loupe') })).path, 'utf8');
  assert.match(md, /Regions: blue = qwen2-vl-2b \(cpu, q4\); orange = gpu:Qwen\/Qwen2\.5-VL-7B-Instruct \(vLLM\); green = gpu:nope/);
  assert.match(md, /\*\*gpu:nope \(2\.9 s, 8 tok\):\*\* \*\*Error:\*\* Model not served/);
  assert.match(md, /- lamp `\[10, 10, 60, 40\]` \(gpu:Qwen\/Qwen2\.5-VL-7B-Instruct \(vLLM\)\)/);
  // The burned-in PNG draws the second model's box in orange.
  const { data, info } = await sharp(join(dir, 'side_files', 'cell-1-image-1.png')).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
  assert.ok(at(10, 25).every((v, i) => Math.abs(v - [0xf5, 0x82, 0x31][i]!) < 40), `orange edge ${at(10, 25)}`);
  assert.ok(at(150, 100).every((v, i) => Math.abs(v - [0x43, 0x63, 0xd8][i]!) < 40), `blue edge ${at(150, 100)}`);
  const ipynb = toIpynb(nb);
  assert.match(JSON.stringify(ipynb.cells[0]), /"qwen2-vl-2b \(cpu, q4\) \(900 ms, 8 tok\):\\n","the lamp\\n"/);
  const rec = await sessionRecord(nb, { name: 'side', notebookDir: dir });
  assert.deepEqual(rec.cells[0]!.runs.map((x) => [x.modelIndex, x.model?.engine, x.model?.revision, x.stats.totalMs, x.error ?? '']), [
    [0, 'local', 'abc123', 900, ''],
    [1, 'gpu', 'Qwen/Qwen2.5-VL-7B-Instruct', 1900, ''],
    [2, undefined, undefined, 2900, 'Model not served: engine gpu has no model "nope".'],
  ]);
});

test('Markdown: a batch row whose answer holds a pipe stays one table row (the pipe escaped once)', async () => {
  const result: LoupeResult = {
    version: 2, kind: 'batch', status: 'ok', task: 'caption', images: [], runs: [], params: {}, timings: {}, warnings: [],
    batch: {
      sidecar: 'pipes.runs/batch-0.jsonl', globs: ['shots/*.png'], images: 1, models: 1, done: 1, ok: 1, errors: 0, resumed: 0, state: 'done', elapsedMs: 5,
      rows: [{ v: 1, index: 0, image: 'shots/a|b.png', sha256: '0'.repeat(64), bytes: 1, width: 1, height: 1, status: 'ok', answer: 'left | right', regions: [], stats: {}, at: '2026-12-02T00:00:00Z' }],
    },
  } as LoupeResult;
  const nb: StoredNotebook = { loupe: 1, metadata: {}, cells: [{ kind: 'code', language: 'loupe', source: '@images shots/*.png\n@task caption', metadata: {}, outputs: [{ items: [{ mime: RESULT_MIME, json: result as never }] }] }] };
  const res = await exportNotebook(nb, 'md', { notebookPath: join(dir, 'pipes.loupe') });
  const row = readFileSync(res.path, 'utf8').split('\n').find((l) => l.startsWith('| shots/'));
  assert.equal(row, '| shots/a\\|b.png | left \\| right | 0 | ok |');
});
