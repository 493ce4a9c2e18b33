// Draw to ask, extension side: the new prompt cell, against a recording fake of the notebook.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCell } from '../../src/core/cells/parser';
import { applyDrawToAsk, findOutputCell, imageArgument, planDrawToAsk, type DrawToAskCell, type NotebookEditPort } from '../../src/core/notebook/drawToAsk';
import { parseRendererMessage, type AskAboutRegionMessage } from '../../src/common/renderer-messages';

class RecordingPort implements NotebookEditPort {
  calls: string[] = [];
  cells: string[];
  constructor(cells: DrawToAskCell[]) {
    this.cells = cells.map((c) => c.source);
  }
  async insertCodeCell(index: number, source: string) {
    this.calls.push(`insert ${index}`);
    this.cells.splice(index, 0, source);
  }
  focusCell(index: number, line: number) {
    this.calls.push(`focus ${index}:${line}`);
  }
  async selectKernel() {
    this.calls.push('kernel');
  }
}

const msg = (over: Partial<AskAboutRegionMessage> = {}): AskAboutRegionMessage => ({
  type: 'askAboutRegion',
  outputId: 'out-2',
  image: { index: 2, source: 'images/cat.png' },
  box: [10, 20, 110, 220],
  ...over,
});

const cells: DrawToAskCell[] = [
  { source: '# Title', outputIds: [] },
  { source: '@image images/dog.png\n@image images/cat.png', outputIds: ['out-1'] },
  { source: '@image images/dog.png\n@image images/cat.png\n@model qwen2-vl-2b\n@task detect\nthe cats', outputIds: ['out-2'] },
  { source: 'after' },
];

test('the new cell goes below the cell whose output was drawn on, keeps its @model, and puts the cursor on the empty prompt line', async () => {
  const port = new RecordingPort(cells);
  const plan = await applyDrawToAsk(port, cells, msg(), '/home/u/nb');
  assert.deepEqual(plan, { index: 3, source: '@image images/cat.png\n@region [10, 20, 110, 220]\n@model qwen2-vl-2b\n', cursorLine: 3 });
  assert.deepEqual(port.calls, ['insert 3', 'kernel', 'focus 3:3']);
  assert.equal(port.cells[3], plan.source);
  assert.equal(port.cells[4], 'after');
  // The cursor line is the empty line after the directives, and the cell parses cleanly with the region on image 1.
  assert.equal(plan.source.split('\n')[plan.cursorLine], '');
  const parsed = parseCell(plan.source);
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(parsed.images.map((i) => i.source), ['images/cat.png']);
  assert.deepEqual(parsed.regions.map((r) => [r.image, r.box]), [[1, [10, 20, 110, 220]]]);
  assert.equal(parsed.model, 'qwen2-vl-2b');
});

test('an image cell (no @model) gives two directives and the cursor on line 2', () => {
  const plan = planDrawToAsk(cells, findOutputCell(cells, 'out-1'), msg({ outputId: 'out-1', image: { index: 1, source: 'images/dog.png' }, box: [0, 0, 5, 7] }), undefined);
  assert.deepEqual(plan, { index: 2, source: '@image images/dog.png\n@region [0, 0, 5, 7]\n', cursorLine: 2 });
});

test('absolute paths inside the notebook folder become relative; others, URLs and odd names stay as written', () => {
  assert.equal(imageArgument('/home/u/nb/images/a.png', '/home/u/nb'), 'images/a.png');
  assert.equal(imageArgument('/elsewhere/a.png', '/home/u/nb'), '/elsewhere/a.png');
  assert.equal(imageArgument('https://example.com/a.png', '/home/u/nb'), 'https://example.com/a.png');
  assert.equal(imageArgument(' spaced.png', undefined), '" spaced.png"');
  assert.equal(parseCell(`@image ${imageArgument(' spaced.png', undefined)}`).images[0]!.source, ' spaced.png');
});

test('an unknown output id appends the cell at the end', () => {
  assert.equal(findOutputCell(cells, 'nope'), -1);
  assert.equal(planDrawToAsk(cells, -1, msg(), undefined).index, cells.length);
});

test('messages from the webview are checked before use', () => {
  assert.deepEqual(parseRendererMessage(msg()), msg());
  assert.deepEqual(parseRendererMessage({ type: 'copy', text: '[1, 2]' }), { type: 'copy', text: '[1, 2]' });
  for (const bad of [
    null,
    { type: 'other' },
    { ...msg(), box: [10, 20, 5, 220] },
    { ...msg(), box: [10.5, 20, 110, 220] },
    { ...msg(), box: [-1, 20, 110, 220] },
    { ...msg(), box: [1, 2, 3] },
    { ...msg(), image: { index: 0, source: 'a.png' } },
    { ...msg(), image: { index: 1, source: 'a.png\n@model evil' } },
    { type: 'copy', text: 5 },
  ])
    assert.equal(parseRendererMessage(bad), undefined, JSON.stringify(bad));
});
