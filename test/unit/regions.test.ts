// Region parsers and coordinate frames: every family's dialect lands on the original image's pixels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { boxFromPixels, fromPixel, pointsToPixels, repair, toPixel, type Frame } from '../../src/engine/dialects/frames';
import { florenceLocTokens, parseFlorence } from '../../src/engine/dialects/florence2';
import { mm15BoxText, parseMm15 } from '../../src/engine/dialects/mm15';
import { parseQwen, qwenBoxText } from '../../src/engine/dialects/qwen';
import { chatInstruction, florencePrompt } from '../../src/engine/dialects/prompts';

const COFFEE = { width: 600, height: 400 };
const close = (a: number[], b: number[], tol = 0.01) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tol);

test('florence2: boxes use bin centres ((N + 0.5) / 1000 × size), width first', () => {
  const r = parseFlorence('</s><s>a cup<loc_100><loc_200><loc_500><loc_800></s>', COFFEE, { quads: false });
  assert.equal(r.text, 'a cup');
  assert.ok(close(r.regions[0]!.coords, [60.3, 80.2, 300.3, 320.2]), JSON.stringify(r.regions[0]!.coords));
  assert.deepEqual(r.regions[0]!.span, [0, 5]);
});

test('florence2: several objects, repeated labels without text, OCR quads per line', () => {
  const od = parseFlorence('car<loc_0><loc_0><loc_99><loc_99><loc_100><loc_100><loc_199><loc_199>person<loc_500><loc_500><loc_999><loc_999>', COFFEE, { quads: false });
  assert.equal(od.text, 'car, person');
  assert.deepEqual(od.regions.map((r) => r.label), ['car', 'car', 'person']);
  assert.deepEqual(od.regions.map((r) => r.span), [[0, 3], [0, 3], [5, 11]]);
  const ocr = parseFlorence('</s><s>HELLO<loc_100><loc_100><loc_300><loc_100><loc_300><loc_150><loc_100><loc_150>WORLD 2<loc_100><loc_200><loc_300><loc_200><loc_300><loc_250><loc_100><loc_250></s>', COFFEE, { quads: true });
  assert.equal(ocr.text, 'HELLO\nWORLD 2');
  assert.deepEqual(ocr.regions.map((r) => [r.kind, r.label, r.coords.length]), [['quad', 'HELLO', 8], ['quad', 'WORLD 2', 8]]);
  assert.ok(close(ocr.regions[1]!.coords.slice(0, 2), [60.3, 80.2]));
});

test('florence2: truncated boxes and out-of-range bins are dropped and counted', () => {
  const r = parseFlorence('cat<loc_1><loc_2><loc_3>dog<loc_10><loc_10><loc_20><loc_1200>', COFFEE, { quads: false });
  assert.equal(r.regions.length, 0);
  assert.deepEqual(r.warnings, ['1 region dropped: an incomplete box (3 location tokens)', '1 region dropped: a location token is outside <loc_0>…<loc_999>']);
});

test('florence2: a region becomes the task token and four <loc_N> (floor of pixel / size × 1000)', () => {
  assert.equal(florenceLocTokens([60, 40, 300, 200], COFFEE), '<loc_100><loc_100><loc_500><loc_500>');
  assert.equal(florenceLocTokens([0, 0, 600, 400], COFFEE), '<loc_0><loc_0><loc_999><loc_999>');
  const img = { raw: null, ...COFFEE, pixelWidth: 600, pixelHeight: 400 };
  assert.equal(florencePrompt('describe-region', '', { box: [60, 40, 300, 200], size: img }), '<REGION_TO_DESCRIPTION><loc_100><loc_100><loc_500><loc_500>');
  assert.equal(florencePrompt('ground', ' the cup '), '<CAPTION_TO_PHRASE_GROUNDING>the cup');
  assert.throws(() => florencePrompt('ask', 'hi'), /does not answer free questions/);
});

test('qwen2_vl: several objects in tags, relative 0–1000, text keeps the labels', () => {
  const r = parseQwen(
    'I see <|object_ref_start|>a cup<|object_ref_end|><|box_start|>(100,200),(500,800)<|box_end|> and <|object_ref_start|>a spoon<|object_ref_end|><|box_start|>(600,100),(700,900)<|box_end|><|box_start|>(10,10),(20,20)<|box_end|>.<|im_end|>',
    COFFEE,
    COFFEE,
    'qwen2_vl',
  );
  assert.equal(r.text, 'I see a cup and a spoon.');
  assert.deepEqual(r.regions.map((x) => [x.label, x.coords]), [
    ['a cup', [60, 80, 300, 320]],
    ['a spoon', [360, 40, 420, 360]],
    ['a spoon', [6, 4, 12, 8]],
  ]);
  assert.deepEqual(r.regions[1]!.span, [16, 23]);
  assert.equal(r.text.slice(16, 23), 'a spoon');
});

test('qwen2.5-vl: JSON boxes in pixels of the resized input, with and without a markdown fence', () => {
  const resized = { width: 588, height: 392 };
  const json = '[{"bbox_2d": [294, 98, 588, 392], "label": "cup"}, {"bbox_2d": [0, 0, 147, 196], "label": "spoon"}]';
  for (const answer of [json, '```json\n' + json + '\n```', 'Here you go:\n```json\n' + json + '\n```\nDone.']) {
    const r = parseQwen(answer, COFFEE, resized, 'qwen2_5_vl');
    assert.deepEqual(r.regions.map((x) => [x.label, x.coords]), [
      ['cup', [300, 100, 600, 400]],
      ['spoon', [0, 0, 150, 200]],
    ], answer);
  }
  assert.equal(parseQwen('Here you go:\n```json\n' + json + '\n```\nDone.', COFFEE, resized, 'qwen2_5_vl').text, 'Here you go:\ncup, spoon\nDone.');
});

test('qwen3-vl: the same JSON, relative 0–1000; a truncated answer keeps its complete objects', () => {
  const r = parseQwen('```json\n[{"bbox_2d": [500, 250, 1000, 750], "label": "cup"}, {"bbox_2d": [1, 2', COFFEE, COFFEE, 'qwen3_vl');
  assert.deepEqual(r.regions.map((x) => x.coords), [[300, 100, 600, 300]]);
});

test('qwen: inverted and out-of-range boxes are repaired and counted; empty ones dropped', () => {
  const r = parseQwen('<|box_start|>(500,800),(100,200)<|box_end|><|box_start|>(900,900),(1200,1100)<|box_end|><|box_start|>(1100,100),(1200,200)<|box_end|>', COFFEE, COFFEE, 'qwen2_vl');
  assert.deepEqual(r.regions.map((x) => x.coords), [
    [60, 80, 300, 320],
    [540, 360, 600, 400],
  ]);
  assert.deepEqual(r.warnings, ['2 regions were outside the image or inverted and were clamped and reordered', '1 region dropped: the box has no area inside the image']);
});

test('referring boxes are written in each dialect', () => {
  assert.equal(qwenBoxText([60, 40, 300, 200], COFFEE, COFFEE, 'qwen2_vl'), '<|box_start|>(100,100),(500,500)<|box_end|>');
  assert.equal(qwenBoxText([60, 40, 300, 200], COFFEE, { width: 588, height: 392 }, 'qwen2_5_vl'), '[59, 39, 294, 196]');
  assert.equal(qwenBoxText([60, 40, 300, 200], COFFEE, COFFEE, 'qwen3_vl'), '[100, 100, 500, 500]');
  assert.equal(mm15BoxText([60, 40, 300, 200], COFFEE), '[100, 100, 500, 500]');
  assert.match(chatInstruction('describe-region', '', 'qwen2_vl', '<|box_start|>(1,2),(3,4)<|box_end|>'), /Describe this region of the image: <\|box_start\|>/);
  assert.match(chatInstruction('ground', 'the cup', 'qwen2_5_vl', undefined), /Locate the cup .* JSON/);
  assert.match(chatInstruction('ask', 'What is this?', 'mm15', '[1, 2, 3, 4]'), /What is this\? Region: \[1, 2, 3, 4\]/);
});

test('mm15 / Ferret: [x1, y1, x2, y2] and [x, y] in 0–999, labelled by the phrase before them', () => {
  const r = parseMm15('There is a cat [100, 200, 500, 800] next to a mug [600, 10].', COFFEE);
  assert.deepEqual(r.regions.map((x) => [x.kind, x.label, x.coords]), [
    ['box', 'There is a cat', [60, 80, 300, 320]],
    ['point', 'next to a mug', [360, 4]],
  ]);
  assert.equal(r.text, 'There is a cat next to a mug.');
});

const frames: Frame[] = [{ kind: 'bins1000' }, { kind: 'rel1000' }, { kind: 'unit' }];

test('property: pixel → model frame → pixel stays within one pixel (one bin for Florence), any size or aspect', () => {
  fc.assert(
    fc.property(fc.integer({ min: 16, max: 8000 }), fc.integer({ min: 16, max: 8000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 3 }), (w, h, fx, fy, k) => {
      const size = { width: w, height: h };
      const p = [fx * w, fy * h];
      const frame: Frame = k === 3 ? { kind: 'resized', width: Math.max(28, Math.round(w / 28) * 28), height: Math.max(28, Math.round(h / 28) * 28) } : frames[k]!;
      const back = pointsToPixels(boxFromPixels(p, size, frame), size, frame);
      const tol = (axis: number) => {
        const s = axis === 0 ? w : h;
        if (frame.kind === 'bins1000') return s / 1000;
        if (frame.kind === 'rel1000') return Math.max(1, s / 1000);
        if (frame.kind === 'resized') return Math.max(1, s / (axis === 0 ? frame.width : frame.height));
        return 1;
      };
      assert.ok(Math.abs(back[0]! - p[0]!) <= tol(0) + 1e-9, `x ${p[0]} → ${back[0]} (${frame.kind}, ${w}×${h})`);
      assert.ok(Math.abs(back[1]! - p[1]!) <= tol(1) + 1e-9, `y ${p[1]} → ${back[1]} (${frame.kind}, ${w}×${h})`);
    }),
    { numRuns: 3000 },
  );
});

test('property: parsers never throw on random strings, and every region they return lies in the image', () => {
  const tokens = fc.constantFrom('<loc_', '>', '<loc_999>', '<loc_0>', '<|box_start|>', '<|box_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '(', ')', ',', '[', ']', '{', '}', '"bbox_2d"', ':', '```json', '-5', '1000', '37', 'cat', ' ', '\n', '</s>', '"label"');
  const text = fc.oneof(fc.string(), fc.array(tokens, { maxLength: 40 }).map((t) => t.join('')));
  fc.assert(
    fc.property(text, fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), (s, w, h) => {
      const size = { width: w, height: h };
      const all = [
        parseFlorence(s, size, { quads: false }),
        parseFlorence(s, size, { quads: true }),
        parseQwen(s, size, size, 'qwen2_vl'),
        parseQwen(s, size, { width: 28, height: 28 }, 'qwen2_5_vl'),
        parseQwen(s, size, size, 'qwen3_vl'),
        parseMm15(s, size),
      ];
      for (const r of all) {
        assert.equal(typeof r.text, 'string');
        for (const g of r.regions) {
          assert.ok(g.coords.every((c, i) => Number.isFinite(c) && c >= 0 && c <= (i % 2 === 0 ? w : h)), JSON.stringify(g));
          if (g.kind === 'box') assert.ok(g.coords[2]! > g.coords[0]! && g.coords[3]! > g.coords[1]!);
          if (g.span) assert.ok(g.span[0] >= 0 && g.span[1] <= r.text.length);
          if (g.span && g.label) assert.equal(r.text.slice(g.span[0], g.span[1]), g.label, 'a region\'s span is its label in the answer text');
        }
      }
    }),
    { numRuns: 2000 },
  );
});

test('repair orders and clamps; fromPixel/toPixel agree at the edges', () => {
  assert.deepEqual(repair('box', [700, 500, -10, 100], COFFEE), { coords: [0, 100, 600, 400], repaired: true });
  assert.equal(repair('box', [NaN, 0, 1, 1], COFFEE).coords, undefined);
  assert.equal(fromPixel(600, 'x', COFFEE, { kind: 'bins1000' }), 999);
  assert.equal(toPixel(999, 'x', COFFEE, { kind: 'bins1000' }), 599.7);
});
