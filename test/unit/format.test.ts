import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeItem, encodeItem, NotebookFormatError, parseNotebook, serializeNotebook, type StoredNotebook } from '../../src/core/notebook/format';

const examples = join(import.meta.dirname, '..', '..', 'examples');

test('every example notebook round-trips byte for byte', () => {
  const files = readdirSync(examples).filter((f) => f.endsWith('.loupe'));
  assert.ok(files.length > 0);
  for (const f of files) {
    const bytes = readFileSync(join(examples, f));
    const again = serializeNotebook(parseNotebook(bytes, f));
    assert.equal(Buffer.from(again).toString('utf8'), bytes.toString('utf8'), f);
  }
});

test('canonical form: fixed key order, sorted metadata, 2-space indent, final newline', () => {
  const nb: StoredNotebook = {
    loupe: 1,
    metadata: { z: 1, a: { y: 2, b: 3 } },
    cells: [
      {
        kind: 'code',
        language: 'loupe',
        source: '@image a.png',
        metadata: { b: true, a: null },
        outputs: [{ items: [{ mime: 'text/plain', text: 'hi' }], metadata: { k: 1 } }],
      },
    ],
  };
  const text = Buffer.from(serializeNotebook(nb)).toString('utf8');
  assert.ok(text.endsWith('}\n'));
  assert.match(text, /^\{\n {2}"loupe": 1,\n {2}"metadata": \{\n {4}"a": \{\n {6}"b": 3,\n {6}"y": 2\n {4}\},\n {4}"z": 1/);
  assert.ok(text.indexOf('"kind"') < text.indexOf('"language"') && text.indexOf('"source"') < text.indexOf('"outputs"'));
  assert.deepEqual(parseNotebook(text), { ...nb, metadata: { a: { b: 3, y: 2 }, z: 1 }, cells: [{ ...nb.cells[0]!, metadata: { a: null, b: true } }] });
});

test('output items: JSON mimes as objects, text as text, binary as base64, all lossless', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const json = encodeItem('application/vnd.loupe.result+json', enc('{"b":1,"a":[1,2]}'));
  assert.deepEqual(json, { mime: 'application/vnd.loupe.result+json', json: { b: 1, a: [1, 2] } });
  assert.deepEqual(encodeItem('text/plain', enc('héllo')), { mime: 'text/plain', text: 'héllo' });
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]);
  const bin = encodeItem('image/png', png);
  assert.deepEqual(bin, { mime: 'image/png', base64: Buffer.from(png).toString('base64') });
  assert.deepEqual(decodeItem(bin), png);
  // Invalid UTF-8 under a text mime is kept as base64 rather than mangled.
  const bad = new Uint8Array([0xff, 0xfe, 0x41]);
  assert.deepEqual(decodeItem(encodeItem('text/plain', bad)), bad);
  // Not-really-JSON under a JSON mime stays text.
  assert.deepEqual(encodeItem('application/json', enc('{oops')), { mime: 'application/json', text: '{oops' });
});

test('property: any notebook survives serialize → parse → serialize unchanged', () => {
  const json = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<never>;
  const meta = fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), json, { maxKeys: 4 });
  const item = fc.oneof(
    fc.record({ mime: fc.constant('application/json'), json }),
    fc.record({ mime: fc.constantFrom('text/plain', 'text/markdown'), text: fc.string() }),
    fc.record({ mime: fc.constant('image/png'), base64: fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b).toString('base64')) }),
  );
  const cell = fc.record({
    kind: fc.constantFrom('markdown' as const, 'code' as const),
    language: fc.constantFrom('loupe', 'markdown'),
    source: fc.string(),
    metadata: meta,
    outputs: fc.array(fc.record({ items: fc.array(item, { maxLength: 3 }) }), { maxLength: 2 }),
  });
  fc.assert(
    fc.property(fc.record({ loupe: fc.constant(1), metadata: meta, cells: fc.array(cell, { maxLength: 4 }) }), (nb) => {
      const once = serializeNotebook(nb as StoredNotebook);
      const twice = serializeNotebook(parseNotebook(once));
      assert.equal(Buffer.from(twice).toString(), Buffer.from(once).toString());
    }),
    { numRuns: 300 },
  );
});

test('an empty file is a new notebook where VS Code makes one, and an error elsewhere; a BOM is accepted', () => {
  assert.deepEqual(parseNotebook(new Uint8Array(), 'nb', { emptyIsNew: true }), { loupe: 1, metadata: {}, cells: [] });
  assert.throws(() => parseNotebook(new Uint8Array(), 'nb.loupe'), /nb\.loupe: the file is empty/);
  assert.throws(() => parseNotebook(' \n', 'nb.loupe'), /the file is empty/);
  assert.equal(parseNotebook('\ufeff{"loupe":1,"cells":[]}').cells.length, 0);
});

const bad: [string, string, RegExp][] = [
  ['malformed JSON', '{\n  "loupe": 1,\n  "cells": [\n    {"kind": "code",, }\n  ]\n}', /^nb:4:21: invalid JSON \(Expected double-quoted property name\)/],
  ['truncated JSON', '{\n  "loupe": 1,\n  "cells": [', /^nb:3:13: invalid JSON/],
  ['not an object', '[1, 2]', /top level: expected an object, found an array/],
  ['missing version', '{"cells": []}', /"loupe": expected the format version/],
  ['future version', '{"loupe": 2, "cells": []}', /format version 2; this Loupe reads version 1\. Update Loupe/],
  ['cells not an array', '{"loupe": 1, "cells": {}}', /"cells": expected an array, found an object/],
  ['bad kind', '{"loupe": 1, "cells": [{"kind": "raw", "source": ""}]}', /cells\[0\]\.kind: expected "markdown" or "code", found "raw"/],
  ['source not a string', '{"loupe": 1, "cells": [{"kind": "code", "source": 42}]}', /cells\[0\]\.source: expected a string, found a number/],
  ['bad output item', '{"loupe": 1, "cells": [{"kind": "code", "source": "", "outputs": [{"items": [{"mime": "image/png"}]}]}]}', /cells\[0\]\.outputs\[0\]\.items\[0\]: expected one of "json", "text" or "base64"/],
  ['bad base64', '{"loupe": 1, "cells": [{"kind": "code", "source": "", "outputs": [{"items": [{"mime": "image/png", "base64": "!!"}]}]}]}', /base64: expected base64 data/],
];

for (const [name, text, re] of bad) {
  test(`rejects ${name} with a message that says what and where`, () => {
    assert.throws(() => parseNotebook(text, 'nb'), (e: unknown) => e instanceof NotebookFormatError && re.test(e.message));
  });
}

test('invalid UTF-8 is refused', () => {
  assert.throws(() => parseNotebook(new Uint8Array([0x7b, 0xff, 0x7d]), 'nb'), /not valid UTF-8/);
});

test('keys this Loupe does not know survive a read and a write, on every level', () => {
  const nb = {
    loupe: 1,
    metadata: { a: 1 },
    cells: [
      {
        kind: 'code',
        language: 'loupe',
        source: '@image a.png',
        metadata: {},
        outputs: [{ items: [{ mime: 'text/plain', text: 'hi', encoding: 'utf-8' }], metadata: { m: 1 }, renderer: { v: 2 } }],
        id: 'c1',
        attachments: { x: [1, 2] },
      },
    ],
    future: { plan: true },
    authors: ['someone'],
  };
  const text = JSON.stringify(nb);
  const parsed = parseNotebook(text);
  assert.deepEqual(parsed.extra, { future: { plan: true }, authors: ['someone'] });
  assert.deepEqual(parsed.cells[0]!.extra, { id: 'c1', attachments: { x: [1, 2] } });
  assert.deepEqual(parsed.cells[0]!.outputs[0]!.extra, { renderer: { v: 2 } });
  assert.deepEqual(parsed.cells[0]!.outputs[0]!.items[0]!.extra, { encoding: 'utf-8' });
  const written = JSON.parse(new TextDecoder().decode(serializeNotebook(parsed)));
  assert.deepEqual(written, nb, 'nothing lost, nothing added');
  assert.deepEqual(Object.keys(written), ['loupe', 'metadata', 'cells', 'authors', 'future'], 'known keys first, the others after them, sorted');
  assert.deepEqual(serializeNotebook(parseNotebook(serializeNotebook(parsed))), serializeNotebook(parsed), 'and then byte for byte');
});
