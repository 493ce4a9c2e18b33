import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isImageCell, parseCell } from '../../src/core/cells/parser';
import { PARAM_KEYS } from '../../src/common/params';
import { TASKS } from '../../src/common/tasks';

test('every directive is parsed', () => {
  const c = parseCell(
    [
      '@image images/a.png',
      '@image https://example.com/b.jpg',
      '@region [10, 20, 110.5, 220]',
      '@region 2 [0,0,5,5]',
      '@task describe-region',
      '@model ./test/fixtures/models/tiny-florence2',
      '@set max_new_tokens=64 temperature=0.7 do_sample=true',
      '@set seed=42 top_k=5 top_p=0.9 repetition_penalty=1.1',
      'What is in this box?',
    ].join('\n'),
  );
  assert.deepEqual(c.errors, []);
  assert.deepEqual(
    c.images.map((i) => [i.source, i.isUrl, i.line, i.column]),
    [
      ['images/a.png', false, 1, 8],
      ['https://example.com/b.jpg', true, 2, 8],
    ],
  );
  assert.deepEqual(
    c.regions.map((r) => [r.image, r.box]),
    [
      [1, [10, 20, 110.5, 220]],
      [2, [0, 0, 5, 5]],
    ],
  );
  assert.equal(c.task, 'describe-region');
  assert.equal(c.model, './test/fixtures/models/tiny-florence2');
  assert.deepEqual(c.params, { max_new_tokens: 64, temperature: 0.7, do_sample: true, seed: 42, top_k: 5, top_p: 0.9, repetition_penalty: 1.1 });
  assert.equal(c.prompt, 'What is in this box?');
  assert.equal(isImageCell(c), false);
});

test('defaults: task ask, no model, prompt keeps inner blank lines', () => {
  const c = parseCell('\n\nFirst line\n\n  second line\n\n');
  assert.equal(c.task, 'ask');
  assert.equal(c.taskGiven, false);
  assert.equal(c.model, undefined);
  assert.equal(c.prompt, 'First line\n\n  second line');
});

test('@@ escapes a literal @ at line start, also after indentation', () => {
  const c = parseCell('@@image is not a directive\n  @@set neither\nmail me @ home');
  assert.deepEqual(c.errors, []);
  assert.deepEqual(c.images, []);
  assert.equal(c.prompt, '@image is not a directive\n  @set neither\nmail me @ home');
});

test('image cells: only @image lines and blank lines', () => {
  assert.equal(isImageCell(parseCell('@image a.png\n\n@image "b c.png"\n')), true);
  assert.equal(parseCell('@image "b c.png"').images[0]!.source, 'b c.png');
  assert.equal(isImageCell(parseCell('@image a.png\nDescribe it')), false);
  assert.equal(isImageCell(parseCell('@image a.png\n@task caption')), false);
  assert.equal(isImageCell(parseCell('')), false);
});

test('CRLF sources parse like LF sources', () => {
  const c = parseCell('@image a.png\r\n@task ocr\r\nRead it\r\n');
  assert.deepEqual(c.errors, []);
  assert.equal(c.task, 'ocr');
  assert.equal(c.prompt, 'Read it');
});

const errorCases: [string, number, number, RegExp][] = [
  ['@imag a.png', 1, 1, /unknown directive @imag/],
  ['@ lonely', 1, 1, /lone @/],
  ['hello\n  @foo bar', 2, 3, /unknown directive @foo.*@@/],
  ['@image', 1, 7, /needs a path/],
  ['@image http://example.com/a.png', 1, 8, /https URLs, not http/],
  ['@image a.png\n@region [1, 2, 3]', 2, 9, /expects \[x1, y1, x2, y2\]/],
  ['@image a.png\n@region [5, 5, 1, 1]', 2, 9, /x2 > x1/],
  ['@image a.png\n@region [-1, 0, 4, 4]', 2, 9, /≥ 0/],
  ['@image a.png\n@region 0 [0, 0, 4, 4]', 2, 9, /whole number ≥ 1/],
  ['@image a.png\n@region 2 [0, 0, 4, 4]', 2, 9, /refers to image 2, but the cell has 1 image$/],
  ['@region [0, 0, 4, 4]', 1, 9, /no @image/],
  ['@task dance', 1, 7, /unknown task "dance": expected one of ask, caption/],
  ['@task ocr\n@task ask', 2, 1, /given twice/],
  ['@model', 1, 7, /registry id/],
  ['@model a\n@model b', 2, 1, /given twice/],
  ['@set', 1, 5, /needs key=value/],
  ['@set max_new_tokens=0', 1, 6, /between 1 and 32768/],
  ['@set max_new_tokens=1.5', 1, 6, /whole number/],
  ['@set top_p=2', 1, 6, /in \(0, 1\]/],
  ['@set temperature=hot', 1, 6, /must be a number/],
  ['@set do_sample=yes', 1, 6, /true or false/],
  ['@set seed=1 color=red', 1, 13, /unknown parameter "color"/],
  ['@set seed', 1, 6, /expects key=value/],
];

for (const [src, line, column, re] of errorCases) {
  test(`error with position: ${JSON.stringify(src)}`, () => {
    const c = parseCell(src);
    assert.ok(c.errors.length >= 1, 'expected an error');
    const e = c.errors[c.errors.length - 1]!;
    assert.match(e.message, re);
    assert.deepEqual([e.line, e.column], [line, column]);
  });
}

test('property: no input makes the parser throw, and errors point inside the source', () => {
  const directiveLine = fc.oneof(
    fc.constantFrom('@image ', '@region ', '@task ', '@model ', '@set ', '@@', '@', ' @'),
    fc.constantFrom(...TASKS, ...PARAM_KEYS.map((k) => k + '='), '[', ']', ',', '1', '-2.5', 'e9', '"', 'https://x/y.png'),
  );
  const line = fc.array(fc.oneof(directiveLine, fc.string({ maxLength: 6 })), { maxLength: 6 }).map((parts) => parts.join(''));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
      const src = lines.join(eol);
      const c = parseCell(src);
      const srcLines = src.split(/\r\n|\r|\n/);
      for (const e of c.errors) {
        assert.ok(e.line >= 1 && e.line <= srcLines.length, `line ${e.line} out of range`);
        assert.ok(e.column >= 1 && e.column <= srcLines[e.line - 1]!.length + 1, `column ${e.column} out of range`);
        assert.ok(e.message.length > 0);
      }
      for (const r of c.regions) assert.ok(r.box[2] > r.box[0] && r.box[3] > r.box[1]);
    }),
    { numRuns: 2000 },
  );
});

test('property: any valid region round-trips through its text form', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 5000 }),
      (x, y, w, h) => {
        const c = parseCell(`@image a.png\n@region 1 [${x}, ${y}, ${x + w}, ${y + h}]`);
        assert.deepEqual(c.errors, []);
        assert.deepEqual(c.regions[0]!.box, [x, y, x + w, y + h]);
      },
    ),
  );
});

test('batches: @images globs (repeatable, quoted), @truth, rerun=all; what a batch cannot hold is refused with its line', () => {
  const c = parseCell('@images photos/**/*.jpg\n@images "scans/a b/*.png"\n@truth truth.json\n@set rerun=all max_new_tokens=20\n@task ground\nthe lamp');
  assert.deepEqual(c.errors, []);
  assert.deepEqual(c.batch.map((b) => [b.glob, b.line]), [['photos/**/*.jpg', 1], ['scans/a b/*.png', 2]]);
  assert.deepEqual([c.truth?.source, c.rerun, c.params.max_new_tokens], ['truth.json', true, 20]);
  assert.equal(isImageCell(c), false);
  const msg = (src: string) => parseCell(src).errors.map((e) => `${e.line}:${e.message}`);
  assert.match(msg('@images a/*.png\n@image b.png\nhi')[0]!, /^2:@image and @images do not mix/);
  assert.match(msg('@images a/*.png\n@region [1, 2, 3, 4]\nhi')[0]!, /^2:@region does not apply to a batch/);
  assert.match(msg('@images a/*.png\n@task describe-region')[0]!, /^1:@task describe-region does not run once per image, so it cannot run as a batch; batch tasks: ask, caption/);
  assert.match(msg('@image a.png\n@truth t.json\nhi')[0]!, /^2:@truth scores a batch: add @images/);
  assert.match(msg('@images\nhi')[0]!, /^1:@images needs a glob/);
  assert.match(msg('@images https://x.org/*.png\nhi')[0]!, /@images matches files on this machine/);
  assert.match(msg('@images a/*.png\n@set rerun=some\nhi')[0]!, /@set rerun takes "all"/);
  assert.match(msg('@image a.png\n@set rerun=all\nhi')[0]!, /^2:@set rerun=all applies to a batch/);
  assert.match(msg('@images a/*.png\n@truth a.json\n@truth b.json\nhi')[0]!, /^3:@truth is given twice/);
  assert.deepEqual(msg('@images a/*.png\n@task caption'), [], 'a batch without a prompt is a cell that runs');
});
