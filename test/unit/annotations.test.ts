// Annotation exports of batch cells (COCO, YOLO, Label Studio, CSV/JSONL), each read back by a parser written here,
// not the exporter's: the coordinates must come back as the regions' upright pixels.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import sharp from 'sharp';
import type { BatchRow } from '../../src/common/batch';
import { isLoupeError } from '../../src/common/errors';
import { RESULT_MIME, type LoupeResult, type ModelInfo, type Region } from '../../src/common/result';
import { SidecarWriter } from '../../src/core/batch/sidecar';
import { ANNOTATION_FORMATS, exportAnnotations } from '../../src/core/export/annotations';
import type { StoredCell, StoredNotebook } from '../../src/core/notebook/format';
import { spotPng } from '../helpers/spot';

const root = mkdtempSync(join(tmpdir(), 'loupe-annotations-'));
const nbDir = join(root, 'project');
const notebookPath = join(nbDir, 'shots.loupe');
const PROMPT = 'find the objects';
const TRICKY = 'a car, a "person"\nand more';
const MODEL: ModelInfo = { id: 'microsoft/Florence-2-base', engine: 'local' };

interface CocoFile {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { id: number; image_id: number; category_id: number; bbox: number[]; area: number; iscrowd: number; segmentation?: number[][]; keypoints?: number[]; num_keypoints?: number }[];
  categories: { id: number; name: string; supercategory: string }[];
}

const box = (label: string, coords: number[]): Region => ({ image: 1, label, kind: 'box', coords });
const row = (index: number, image: string, width: number, height: number, regions: Region[], extra: Partial<BatchRow> = {}): BatchRow => ({
  v: 1,
  index,
  image,
  sha256: 'e3b0',
  bytes: 100,
  width,
  height,
  model: MODEL,
  status: 'ok',
  answer: `answer ${index}`,
  regions,
  stats: { totalMs: 100 + index },
  at: '2025-01-01T00:00:00.000Z',
  ...extra,
});

/** What each row's regions are, in upright pixels: the truth the parsers below must find again. */
const ROWS: BatchRow[] = [
  row(0, 'odd.png', 617, 403, [box('car', [10.25, 20.5, 300.75, 200.125]), box('person', [400, 100, 617, 403])], { answer: TRICKY }),
  row(1, 'rot.jpg', 300, 200, [box('spot', [40, 30, 140, 110])]),
  row(2, 'point.png', 64, 48, [{ image: 1, label: '', kind: 'point', coords: [20, 30] }, box('edge', [-5, 10, 50, 500])]),
  row(3, 'quad.png', 200, 100, [{ image: 1, label: 'text', kind: 'quad', coords: [10, 10, 90, 15, 85, 60, 5, 55] }]),
  row(4, 'broken.png', 0, 0, [], { status: 'error', answer: '', error: 'cannot read image, "broken"' }),
  row(5, 'sub/dir/x.png', 100, 80, [box('car', [1, 2, 3, 4])]),
  row(6, 'empty.png', 32, 32, []),
];

/** The exported pixels of a region: boxes clamped to the image (the exports' rule), quads and points as they are. */
function expectedBox(r: BatchRow, g: Region): number[] {
  const xs = g.coords.filter((_, i) => i % 2 === 0);
  const ys = g.coords.filter((_, i) => i % 2 === 1);
  const c = (v: number, max: number) => Math.min(max, Math.max(0, v));
  return [c(Math.min(...xs), r.width), c(Math.min(...ys), r.height), c(Math.max(...xs), r.width), c(Math.max(...ys), r.height)];
}

const near = (a: number[], b: number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol, `${what}: ${a.join(',')} vs ${b.join(',')}`));
};

function batchResult(sidecar: string, models: number): LoupeResult {
  return {
    version: 2,
    kind: 'batch',
    status: 'ok',
    task: 'ground',
    images: [],
    prompt: PROMPT,
    runs: [],
    batch: { sidecar, globs: ['**/*.png'], images: 7, models, done: 7, ok: 6, errors: 1, resumed: 0, state: 'done', elapsedMs: 1000, rows: [] },
    params: {},
    timings: {},
    warnings: [],
  };
}

const codeCell = (result?: LoupeResult): StoredCell => ({
  kind: 'code',
  language: 'loupe',
  source: '@images **/*.png\nfind the objects',
  metadata: {},
  outputs: result ? [{ items: [{ mime: RESULT_MIME, json: JSON.parse(JSON.stringify(result)) }] }] : [],
});
const notebook = (...cells: StoredCell[]): StoredNotebook => ({ loupe: 1, metadata: {}, cells: [{ kind: 'markdown', language: 'markdown', source: '# Shots', metadata: {}, outputs: [] }, ...cells] });

async function writeSidecar(name: string, rows: BatchRow[]): Promise<string> {
  const rel = `shots.loupe.runs/${name}.jsonl`;
  const w = await SidecarWriter.open(join(nbDir, rel), { truncate: true });
  for (const r of rows) await w.append(r);
  await w.close();
  return rel;
}

async function setup(): Promise<{ main: string; two: string }> {
  mkdirSync(join(nbDir, 'sub', 'dir'), { recursive: true });
  const png = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: '#406080' } }).png().toBuffer();
  writeFileSync(join(nbDir, 'odd.png'), await png(617, 403));
  // Stored 200×300 with orientation 6: upright it is 300×200 with the white spot at [40, 30, 140, 110].
  writeFileSync(join(nbDir, 'rot.jpg'), await spotPng(300, 200, [40, 30, 140, 110], { orientation: 6 }));
  writeFileSync(join(nbDir, 'point.png'), await png(64, 48));
  writeFileSync(join(nbDir, 'quad.png'), await png(200, 100));
  writeFileSync(join(nbDir, 'broken.png'), 'not an image');
  writeFileSync(join(nbDir, 'sub', 'dir', 'x.png'), await png(100, 80));
  writeFileSync(join(nbDir, 'empty.png'), await png(32, 32));
  const main = await writeSidecar('main', ROWS);
  const other: ModelInfo = { id: '/models/tiny-vlm' };
  const two = await writeSidecar('two', [
    { ...row(0, 'odd.png', 617, 403, [box('car', [1, 1, 10, 10])]), modelIndex: 0 },
    { ...row(0, 'odd.png', 617, 403, [box('bus', [5, 5, 50, 50])]), modelIndex: 1, model: other },
    { ...row(1, 'point.png', 64, 48, []), modelIndex: 0 },
    { ...row(1, 'point.png', 64, 48, [box('car', [2, 2, 20, 20])]), modelIndex: 1, model: other },
  ]);
  return { main, two };
}

const ready = setup();
let outs = 0;
const outDir = () => join(root, `out-${++outs}`);

test('COCO: valid against the schema; bbox gives back the regions in upright pixels; points, quads, errors', async () => {
  const { main } = await ready;
  const out = outDir();
  const res = await exportAnnotations(notebook(codeCell(batchResult(main, 1))), 'coco', { notebookPath, outDir: out });
  assert.deepEqual(res, { files: [join(out, 'annotations.coco.json')], batches: 1 });
  const coco = JSON.parse(readFileSync(res.files[0]!, 'utf8')) as CocoFile;
  const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'coco', 'coco.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true }).compile<CocoFile>(schema);
  assert.ok(validate(coco), JSON.stringify(validate.errors, null, 1));
  const broken = structuredClone(coco) as { annotations: { bbox?: number[] }[] };
  delete broken.annotations[0]!.bbox;
  assert.equal(validate(broken), false, 'the schema really checks');

  assert.deepEqual(
    coco.categories.map((c) => [c.id, c.name, c.supercategory]),
    [[1, 'car', 'object'], [2, 'person', 'object'], [3, 'spot', 'object'], [4, PROMPT, 'object'], [5, 'edge', 'object'], [6, 'text', 'object']],
  );
  const ok = ROWS.filter((r) => r.status === 'ok');
  assert.deepEqual(
    coco.images.map((i) => [i.id, i.file_name, i.width, i.height]),
    ok.map((r, k) => [k + 1, r.image, r.width, r.height]),
  );
  const byName = new Map<string, number>(coco.categories.map((c) => [c.name, c.id]));
  for (const [k, r] of ok.entries()) {
    const anns = coco.annotations.filter((a) => a.image_id === k + 1);
    assert.equal(anns.length, r.regions.length, r.image);
    for (const [j, g] of r.regions.entries()) {
      const a = anns[j]!;
      assert.equal(a.category_id, byName.get(g.label || PROMPT));
      assert.equal(a.iscrowd, 0);
      assert.equal('score' in a, false, 'no region carries a score');
      if (g.kind === 'point') {
        assert.deepEqual(a.keypoints, [...g.coords, 2]);
        assert.equal(a.num_keypoints, 1);
        near([a.bbox[0] + 0.5, a.bbox[1] + 0.5, a.bbox[2], a.bbox[3]], [...g.coords, 1, 1], 1e-9, 'point box');
        continue;
      }
      const [x, y, w, h] = a.bbox;
      near([x, y, x + w, y + h], expectedBox(r, g), 0.01, `${r.image} ${g.label}`);
      assert.ok(Math.abs(a.area - w * h) < 0.01);
      if (g.kind === 'quad') assert.deepEqual(a.segmentation, [g.coords]);
    }
  }
  // The rotated image's box, cut from the upright picture, is its white spot.
  const rot = coco.images.find((i) => i.file_name === 'rot.jpg')!;
  const [x, y, w, h] = coco.annotations.find((a) => a.image_id === rot.id)!.bbox;
  const meta = await sharp(join(nbDir, 'rot.jpg')).metadata();
  assert.deepEqual([meta.width, meta.height, meta.orientation, rot.width, rot.height], [200, 300, 6, 300, 200]);
  const upright = await sharp(join(nbDir, 'rot.jpg')).rotate().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([upright.info.width, upright.info.height], [300, 200]);
  const at = (px: number, py: number) => upright.data[(py * upright.info.width + px) * upright.info.channels]!;
  assert.ok(at(x + 5, y + 5) > 200 && at(x + w - 5, y + h - 5) > 200, 'the box is on the white spot in upright pixels');
  assert.ok(at(x - 5, y - 5) < 60 && at(x + w + 5, y + h + 5) < 60, 'and only on it');
});

test('YOLO: a label file per readable image, mirroring its path; lines denormalise to the regions; classes and data.yaml', async () => {
  const { main } = await ready;
  const out = outDir();
  const res = await exportAnnotations(notebook(codeCell(batchResult(main, 1))), 'yolo', { notebookPath, outDir: out });
  const rel = res.files.map((f) => relative(out, f).split(sep).join('/')).sort();
  assert.deepEqual(rel, ['classes.txt', 'data.yaml', 'labels/empty.txt', 'labels/odd.txt', 'labels/point.txt', 'labels/quad.txt', 'labels/rot.txt', 'labels/sub/dir/x.txt']);
  const classes = readFileSync(join(out, 'classes.txt'), 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(classes, ['car', 'person', 'spot', PROMPT, 'edge', 'text']);
  const yaml = readFileSync(join(out, 'data.yaml'), 'utf8');
  const field = (k: string) => new RegExp(`^${k}: (.*)$`, 'm').exec(yaml)?.[1];
  assert.equal(JSON.parse(field('path')!), nbDir);
  assert.deepEqual([field('train'), field('val'), field('nc')], ['.', '.', '6']);
  const names = [...yaml.split(/^names:\n/m)[1]!.matchAll(/^ {2}- "((?:[^"\\]|\\.)*)"$/gm)].map((m) => JSON.parse(`"${m[1]}"`));
  assert.deepEqual(names, classes);
  assert.equal(readFileSync(join(out, 'labels', 'empty.txt'), 'utf8'), '');

  for (const r of ROWS.filter((x) => x.status === 'ok')) {
    const file = join(out, 'labels', r.image.replace(/\.[^.]+$/, '.txt'));
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, r.regions.length, r.image);
    for (const [j, g] of r.regions.entries()) {
      const parts = lines[j]!.split(' ');
      assert.equal(parts.length, 5);
      for (const p of parts.slice(1)) assert.match(p, /^\d\.\d{6}$/, 'six decimals, within [0, 1]');
      const [cls, cx, cy, w, h] = parts.map(Number) as [number, number, number, number, number];
      assert.equal(classes[cls], g.label || PROMPT);
      const tol = Math.max(r.width, r.height) * 1e-6;
      if (g.kind === 'point') {
        near([cx * r.width, cy * r.height, w * r.width, h * r.height], [...g.coords, 1, 1], tol, 'point');
        continue;
      }
      const px = [(cx - w / 2) * r.width, (cy - h / 2) * r.height, (cx + w / 2) * r.width, (cy + h / 2) * r.height];
      near(px, expectedBox(r, g), tol, `${r.image} ${g.label}`);
    }
  }
});

test('Label Studio: one task per readable image; percentages × original size give back the regions', async () => {
  const { main } = await ready;
  const out = outDir();
  const res = await exportAnnotations(notebook(codeCell(batchResult(main, 1))), 'labelstudio', { notebookPath, outDir: out });
  assert.deepEqual(res.files, [join(out, 'predictions.labelstudio.json')]);
  const tasks = JSON.parse(readFileSync(res.files[0]!, 'utf8'));
  const ok = ROWS.filter((r) => r.status === 'ok');
  assert.deepEqual(
    tasks.map((t: { data: { image: string } }) => t.data.image),
    ok.map((r) => r.image),
  );
  const ids = new Set<string>();
  for (const [k, r] of ok.entries()) {
    assert.equal(tasks[k].predictions.length, 1);
    const p = tasks[k].predictions[0];
    assert.equal(p.model_version, MODEL.id);
    assert.equal('score' in p, false);
    assert.equal(p.result.length, r.regions.length);
    for (const [j, g] of r.regions.entries()) {
      const x = p.result[j];
      ids.add(x.id);
      assert.deepEqual([x.to_name, x.original_width, x.original_height, x.image_rotation], ['image', r.width, r.height, 0]);
      const v = x.value;
      const label = g.label || PROMPT;
      if (g.kind === 'point') {
        assert.deepEqual([x.type, v.width, v.keypointlabels], ['keypointlabels', 0.5, [label]]);
        near([(v.x / 100) * r.width, (v.y / 100) * r.height], g.coords, 1e-9, 'point');
      } else if (g.kind === 'quad') {
        assert.deepEqual([x.type, v.polygonlabels, v.closed], ['polygonlabels', [label], true]);
        near(
          v.points.flatMap(([px, py]: [number, number]) => [(px / 100) * r.width, (py / 100) * r.height]),
          g.coords,
          1e-9,
          'quad',
        );
      } else {
        assert.deepEqual([x.from_name, x.type, v.rotation, v.rectanglelabels], ['label', 'rectanglelabels', 0, [label]]);
        for (const n of [v.x, v.y, v.width, v.height]) assert.ok(n >= 0 && n <= 100);
        const px = [(v.x / 100) * r.width, (v.y / 100) * r.height, ((v.x + v.width) / 100) * r.width, ((v.y + v.height) / 100) * r.height];
        near(px, expectedBox(r, g), 1e-9, `${r.image} ${g.label}`);
      }
    }
  }
  assert.equal(ids.size, ok.reduce((n, r) => n + r.regions.length, 0), 'result ids are unique');
});

/** RFC 4180: fields separated by commas, quoted fields may hold commas, quotes (doubled) and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endField();
      rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}

test('CSV and JSONL: every row, errors included; quoting survives commas, quotes and line breaks', async () => {
  const { main } = await ready;
  const out = outDir();
  const res = await exportAnnotations(notebook(codeCell(batchResult(main, 1))), 'csv', { notebookPath, outDir: out });
  assert.deepEqual(res.files, [join(out, 'answers.csv'), join(out, 'answers.jsonl')]);
  const text = readFileSync(res.files[0]!, 'utf8');
  assert.equal(text.includes('\r'), false, '\\n line ends');
  assert.ok(text.endsWith('\n'));
  const table = parseCsv(text);
  assert.deepEqual(table[0], ['image', 'model', 'status', 'answer', 'regions', 'ms', 'error']);
  assert.deepEqual(
    table.slice(1),
    ROWS.map((r) => [r.image, MODEL.id, r.status, r.answer, String(r.regions.length), String(r.stats.totalMs), r.error ?? '']),
  );
  assert.equal(table[1]![3], TRICKY);
  const lines = readFileSync(res.files[1]!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.deepEqual(
    lines,
    ROWS.map((r) => ({ image: r.image, model: MODEL.id, status: r.status, answer: r.answer, regions: r.regions, ms: r.stats.totalMs, error: r.error ?? null })),
  );
});

test('several models: one model-<k>-<id> folder each; several batch cells: cell-<N> folders', async () => {
  const { main, two } = await ready;
  const out = outDir();
  const nb = notebook(codeCell(batchResult(two, 2)), codeCell(), codeCell(batchResult(main, 1)));
  const res = await exportAnnotations(nb, 'coco', { notebookPath, outDir: out });
  assert.equal(res.batches, 2);
  assert.deepEqual(
    res.files.map((f) => relative(out, f).split(sep).join('/')),
    ['cell-2/model-1-microsoft-Florence-2-base/annotations.coco.json', 'cell-2/model-2-tiny-vlm/annotations.coco.json', 'cell-4/annotations.coco.json'],
  );
  const m2 = JSON.parse(readFileSync(res.files[1]!, 'utf8')) as CocoFile;
  // Categories are the cell's, so ids agree between its model folders.
  assert.deepEqual(m2.categories.map((c) => c.name), ['car', 'bus']);
  assert.deepEqual(m2.annotations.map((a) => [a.category_id, a.bbox]), [[2, [5, 5, 45, 45]], [1, [2, 2, 18, 18]]]);
  // One batch cell among others: its files directly in outDir.
  const single = outDir();
  const csv = await exportAnnotations(notebook(codeCell(), codeCell(batchResult(two, 2))), 'csv', { notebookPath, outDir: single });
  assert.deepEqual(
    csv.files.map((f) => relative(single, f).split(sep).join('/')),
    ['model-1-microsoft-Florence-2-base/answers.csv', 'model-1-microsoft-Florence-2-base/answers.jsonl', 'model-2-tiny-vlm/answers.csv', 'model-2-tiny-vlm/answers.jsonl'],
  );
});

test('errors: no batch cell, a missing sidecar', async () => {
  const prompt = batchResult('x', 1);
  const nb = notebook(codeCell({ ...prompt, kind: 'prompt', batch: undefined }), codeCell());
  await assert.rejects(exportAnnotations(nb, 'coco', { notebookPath, outDir: outDir() }), (e) => isLoupeError(e, 'bad-input') && /no batch cell/i.test(e.message) && /@images/.test(e.message) && /run/i.test(`${e.message} ${e.hint}`));
  const missing = join(nbDir, 'shots.loupe.runs', 'gone.jsonl');
  const out = outDir();
  await assert.rejects(exportAnnotations(notebook(codeCell(batchResult('shots.loupe.runs/gone.jsonl', 1))), 'yolo', { notebookPath, outDir: out }), (e) => isLoupeError(e, 'bad-input') && e.message.includes(missing) && /run the cell again/i.test(e.message));
  assert.equal(existsSync(out), false, 'nothing written');
});

test('an image path with `..` writes nothing outside outDir, in any format', async () => {
  await ready;
  mkdirSync(join(root, 'outside'), { recursive: true });
  writeFileSync(join(root, 'outside', 'y.png'), await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } }).png().toBuffer());
  const rel = await writeSidecar('escape', [row(0, '../outside/y.png', 10, 10, [box('car', [1, 1, 5, 5])]), row(1, '../../../../../../tmp/z.png', 10, 10, [])]);
  const before = listAll(root).filter((f) => !f.startsWith(`out-`));
  for (const format of ANNOTATION_FORMATS) {
    const out = outDir();
    const res = await exportAnnotations(notebook(codeCell(batchResult(rel, 1))), format, { notebookPath, outDir: out });
    for (const f of res.files) assert.ok(f.startsWith(out + sep), f);
    assert.deepEqual(listAll(out).sort(), res.files.map((f) => relative(out, f).split(sep).join('/')).sort(), 'every file written is listed');
    if (format === 'yolo') assert.ok(res.files.includes(join(out, 'labels', '__', 'outside', 'y.txt')));
  }
  assert.deepEqual(listAll(root).filter((f) => !f.startsWith(`out-`)), before, 'nothing new outside the export folders');
  assert.equal(existsSync(join(dirname(root), 'tmp', 'z.txt')), false);
});

function listAll(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? listAll(join(dir, d.name), base) : [relative(base, join(dir, d.name)).split(sep).join('/')]));
}
