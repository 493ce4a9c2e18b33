// Exports of a prompt about a clip: the filmstrip, each frame's timestamp and regions, and the clip's facts survive in
// HTML, Markdown, ipynb and the session record.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { labelColor } from '../../src/common/colors';
import { RESULT_MIME, type LoupeResult, type ResultImage } from '../../src/common/result';
import { exportNotebook, renderHtml, sessionRecord, toIpynb } from '../../src/core/export';
import type { StoredNotebook } from '../../src/core/notebook/format';
import { spotPng } from '../helpers/spot';
import Ajv from 'ajv';

const dir = mkdtempSync(join(tmpdir(), 'loupe-video-export-'));
// Three frames of a 480×270 clip; the spot moves right; regions found on frames 1 and 3.
const BOXES: [number, number, number, number][] = [[20, 100, 80, 160], [180, 100, 240, 160], [340, 100, 400, 160]];

async function videoNotebook(): Promise<StoredNotebook> {
  writeFileSync(join(dir, 'clip.mp4'), 'not really a clip: the session record hashes these bytes');
  const images: ResultImage[] = await Promise.all(
    BOXES.map(async (b, i) => {
      const png = await spotPng(480, 270, b);
      return { index: i + 1, source: `clip.mp4 @ 0:0${i}.50`, width: 480, height: 270, format: 'png', display: { mime: 'image/png', data: png.toString('base64'), width: 480, height: 270 }, time: i + 0.5, video: 1 } satisfies ResultImage;
    }),
  );
  const run = (i: number, found: boolean) => ({
    images: [i + 1],
    model: { id: 'florence-2-base', provider: 'cpu', dtype: 'q4' },
    status: 'ok' as const,
    answer: found ? 'the spot' : '',
    regions: found ? [{ image: i + 1, label: 'the spot', kind: 'box' as const, coords: [...BOXES[i]!], span: [0, 8] as [number, number] }] : [],
    warnings: [],
    stats: {},
  });
  const result: LoupeResult = {
    version: 2,
    kind: 'prompt',
    status: 'ok',
    task: 'ground',
    images,
    videos: [{ index: 1, source: 'clip.mp4', duration: 3, fps: 25, width: 480, height: 270, codec: 'h264', rotation: 0, sampling: { frames: 3 }, frames: [1, 2, 3] }],
    prompt: 'the spot',
    runs: [run(0, true), run(1, false), run(2, true)],
    params: {},
    timings: { totalMs: 900 },
    warnings: [],
  };
  return {
    loupe: 1,
    metadata: {},
    cells: [{ kind: 'code', language: 'loupe', source: '@video clip.mp4\n@set frames=3\n@task ground\nthe spot', metadata: {}, outputs: [{ items: [{ mime: RESULT_MIME, json: JSON.parse(JSON.stringify(result)) }] }] }],
  };
}

test('HTML: the clip\'s facts, a timeline marking the frames with regions, a filmstrip of frames with their times and SVG overlays', async () => {
  const html = renderHtml(await videoNotebook(), { name: 'v' });
  assert.match(html, /<div class="clip-facts">clip\.mp4: 0:03, 25 fps, 480×270, h264, 3 frames, uniform<\/div>/);
  const ticks = [...html.matchAll(/<span class="tick( found)?" data-image="(\d)" style="left:([\d.]+)%"/g)].map((m) => [m[2], !!m[1], Number(m[3])]);
  assert.deepEqual(ticks, [['1', true, 16.67], ['2', false, 50], ['3', true, 83.33]]);
  assert.match(html, /Regions found in the frames at 0:00\.50, 0:02\.50\./);
  assert.match(html, /<div class="images filmstrip">/);
  const captions = [...html.matchAll(/<figcaption>([^<·]*)/g)].map((m) => m[1]!.trim());
  assert.deepEqual(captions, ['Frame 1 at 0:00.50', 'Frame 2 at 0:01.50', 'Frame 3 at 0:02.50']);
  assert.equal((html.match(/<rect class="region"/g) ?? []).length, 2, 'one box on each frame where the spot was found');
  assert.match(html, /<strong class="run-head">Frame at 0:00\.50:<\/strong> the spot/);
  assert.match(html, /the spot <span class="coords">\[340, 100, 400, 160\] frame at 0:02\.50<\/span>/);
});

test('Markdown: the facts line, one PNG per frame with its box burned in, captions and answers with timestamps', async () => {
  const nb = await videoNotebook();
  const res = await exportNotebook(nb, 'md', { notebookPath: join(dir, 'v.loupe') });
  const md = readFileSync(res.path, 'utf8');
  assert.match(md, /^\*Video 1: clip\.mp4: 0:03, 25 fps, 480×270, h264, 3 frames, uniform\*$/m);
  const links = [...md.matchAll(/!\[([^\]]*)\]\(([^)]+)\)/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(links.map((l) => l[0]), ['Frame 1 at 0:00.50', 'Frame 2 at 0:01.50', 'Frame 3 at 0:02.50']);
  for (const [, l] of links) assert.ok(existsSync(resolve(dirname(res.path), decodeURI(l!))), `${l} exists`);
  assert.match(md, /^\*\*Frame at 0:02\.50:\*\* the spot$/m);
  assert.match(md, /^- the spot `\[340, 100, 400, 160\]` \(frame at 0:02\.50\)$/m);
  // Frame 3's box is drawn at its spot, in the label's colour.
  const { data, info } = await sharp(resolve(dirname(res.path), decodeURI(links[2]![1]!))).raw().toBuffer({ resolveWithObject: true });
  const c = labelColor('the spot');
  const rgb = [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16));
  const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
  assert.ok([339, 340, 341].some((x) => px(x, 130).every((v, k) => Math.abs(v - rgb[k]!) < 40)), `box edge at x 340: ${JSON.stringify(px(340, 130))}`);
});

test('ipynb keeps Loupe\'s JSON with the frames\' times; the session record has each frame\'s time and the clip\'s path and SHA-256', async () => {
  const nb = await videoNotebook();
  const ipynb = toIpynb(nb);
  const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'nbformat', 'nbformat.v4.5.schema.json'), 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  assert.ok(validate(ipynb), JSON.stringify(validate.errors));
  const json = ipynb.cells[0]!.outputs![0]!.data![RESULT_MIME] as unknown as LoupeResult;
  assert.deepEqual(json.images.map((i) => i.time), [0.5, 1.5, 2.5]);
  assert.equal(json.videos![0]!.source, 'clip.mp4');
  const rec = await sessionRecord(nb, { name: 'v', notebookDir: dir, now: () => new Date(0) });
  const cell = rec.cells[0]!;
  assert.deepEqual(cell.images.map((i) => [i.time, i.video, i.sha256, i.path]), [[0.5, 1, null, undefined], [1.5, 1, null, undefined], [2.5, 1, null, undefined]]);
  assert.equal(cell.videos![0]!.path, join(dir, 'clip.mp4'));
  assert.equal(cell.videos![0]!.sha256, createHash('sha256').update(readFileSync(join(dir, 'clip.mp4'))).digest('hex'));
  assert.deepEqual(cell.runs.map((r) => r.regions.length), [1, 0, 1]);
});
