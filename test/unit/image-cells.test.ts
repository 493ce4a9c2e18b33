import assert from 'node:assert/strict';
import { test } from 'node:test';
import { askCells, dropText, extensionForMime, imageRef, isImagePath, uniqueAssetName } from '../../src/core/notebook/imageCells';
import { isImageCell, parseCell } from '../../src/core/cells/parser';

test('Ask About Image: an image cell, then a prompt cell with the cursor on its empty line', () => {
  const r = askCells(['/ws/pics/cat.png'], '/ws/notes');
  assert.deepEqual(r.cells, ['@image ../pics/cat.png', '@image ../pics/cat.png\n']);
  assert.deepEqual(r.cursor, { cell: 1, line: 1 });
  assert.equal(isImageCell(parseCell(r.cells[0]!)), true);
});

test('Ask About Image with several files: one comparison cell gets them all; a question fills the prompt', () => {
  const r = askCells(['/ws/a.png', '/ws/b b.jpg'], '/ws', 'What changed?');
  assert.deepEqual(r.cells, ['@image a.png\n@image b b.jpg', '@image a.png\n@image b b.jpg\nWhat changed?']);
  const parsed = parseCell(r.cells[1]!);
  assert.deepEqual(parsed.images.map((i) => i.source), ['a.png', 'b b.jpg']);
  assert.equal(parsed.prompt, 'What changed?');
});

test('untitled notebooks refer to images by absolute path', () => {
  assert.equal(imageRef('/ws/a.png', undefined), '/ws/a.png');
  assert.deepEqual(askCells(['/ws/a.png'], undefined).cells[0], '@image /ws/a.png');
});

test('drop inserts one @image line per image file and ignores other files', () => {
  assert.equal(dropText(['/ws/a.png', '/ws/notes.txt', '/ws/img/b.JPEG'], '/ws', true), '@image a.png\n@image img/b.JPEG\n');
  assert.equal(dropText(['/ws/a.png'], '/ws', false), '\n@image a.png\n');
  assert.equal(dropText(['/ws/notes.txt'], '/ws', true), undefined);
});

test('pasted images get unique names under assets/ and never overwrite', () => {
  const now = new Date(2026, 10, 26, 10, 15, 30);
  const taken = new Set(['paste-20261126-101530.png', 'paste-20261126-101530-2.png']);
  assert.equal(uniqueAssetName((n) => taken.has(n), 'png', now), 'paste-20261126-101530-3.png');
  assert.equal(uniqueAssetName(() => false, 'jpg', now), 'paste-20261126-101530.jpg');
  assert.equal(extensionForMime('image/jpeg'), 'jpg');
  assert.equal(extensionForMime('text/plain'), undefined);
});

test('the image types Ask About Image offers', () => {
  for (const f of ['a.png', 'a.JPG', 'a.jpeg', 'a.webp', 'a.gif', 'a.bmp', 'a.tif', 'a.tiff']) assert.ok(isImagePath(f), f);
  for (const f of ['a.txt', 'a.loupe', 'png']) assert.ok(!isImagePath(f), f);
});

import { askAboutImage, type AskPort } from '../../src/core/notebook/askAboutImage';

function recordingPort(active?: { dir: string | undefined; cellCount: number }) {
  const calls: string[] = [];
  const port: AskPort = {
    activeNotebook: () => active,
    appendCells: async (s) => void calls.push(`append ${JSON.stringify(s)}`),
    openNewNotebook: async (s) => void calls.push(`open ${JSON.stringify(s)}`),
    focusCell: async (i, l) => void calls.push(`focus ${i}:${l}`),
    runCell: async (i) => void calls.push(`run ${i}`),
  };
  return { port, calls };
}

test('Ask About Image with a Loupe notebook active appends to it and focuses the prompt line', async () => {
  const { port, calls } = recordingPort({ dir: '/ws', cellCount: 4 });
  await askAboutImage(port, ['/ws/img/cat.png']);
  assert.deepEqual(calls, ['append ["@image img/cat.png","@image img/cat.png\\n"]', 'focus 5:1']);
});

test('Ask About Image without a notebook opens a new one; a question from the palette runs the prompt', async () => {
  const { port, calls } = recordingPort(undefined);
  await askAboutImage(port, ['/ws/cat.png'], 'What breed?');
  assert.deepEqual(calls, ['open ["@image /ws/cat.png","@image /ws/cat.png\\nWhat breed?"]', 'run 1']);
});
