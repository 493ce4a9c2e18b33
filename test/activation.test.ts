import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fakeVscode, withFakeVscode } from './helpers/fake-vscode';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const heavy = /node_modules[\\/](sharp|onnxruntime-node|onnxruntime-common|@huggingface[\\/]transformers|@img)[\\/]/;

test('activate() registers the notebook, kernel and commands without loading native or model code', () => {
  const { api, reg } = fakeVscode();
  const req = createRequire(join(root, 'dist', 'extension.js'));
  const before = Object.keys(req.cache).filter((k) => heavy.test(k));
  assert.deepEqual(before, [], 'test starts clean');
  withFakeVscode(api, () => {
    const ext = req(join(root, 'dist', 'extension.js'));
    ext.activate({ subscriptions: [], extensionPath: root, extensionUri: { fsPath: root }, globalStorageUri: { fsPath: '/tmp/loupe-test-storage' } });
  });
  assert.deepEqual(reg.serializers.map((s) => s.type), ['loupe']);
  assert.deepEqual(reg.controllers.map((c) => [c.id, c.type]), [['loupe.local', 'loupe']]);
  assert.deepEqual(reg.controllers[0]!.controller.supportedLanguages, ['loupe']);
  assert.equal(reg.controllers[0]!.controller.supportsExecutionOrder, true);
  const loaded = Object.keys(req.cache).filter((k) => heavy.test(k));
  assert.deepEqual(loaded, [], 'sharp, onnxruntime and transformers.js load on first use, not at activation');
  for (const c of pkg.contributes.commands) assert.ok(reg.commands.has(c.command), `command ${c.command} has a handler`);
});

test('manifest: lazy activation, notebook type, language, renderer, trust', () => {
  assert.equal(pkg.name, 'loupe');
  assert.equal(pkg.displayName, 'Loupe: Multimodal Notebooks');
  assert.equal(pkg.engines.vscode, '^1.100.0');
  assert.equal(pkg.main, 'dist/extension.js');
  assert.ok(!pkg.activationEvents.includes('*') && !pkg.activationEvents.includes('onStartupFinished'));
  assert.ok(pkg.activationEvents.includes('onNotebook:loupe') && pkg.activationEvents.includes('onRenderer:loupe.renderer'));
  assert.deepEqual(pkg.contributes.notebooks[0].selector, [{ filenamePattern: '*.loupe' }]);
  assert.equal(pkg.contributes.languages[0].id, 'loupe');
  const r = pkg.contributes.notebookRenderer[0];
  assert.deepEqual([r.id, r.entrypoint, r.mimeTypes, r.requiresMessaging], ['loupe.renderer', './dist/renderer.js', ['application/vnd.loupe.result+json'], 'optional']);
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  for (const c of pkg.contributes.commands) assert.equal(c.category, 'Loupe');
  for (const key of Object.keys(pkg.contributes.configuration.properties)) assert.match(key, /^loupe\./);
});

test('the grammar scopes directives, paths, numbers and region literals', () => {
  const g = JSON.parse(readFileSync(join(root, 'dist', 'loupe.tmLanguage.json'), 'utf8'));
  const rx = (name: string) => new RegExp(g.repository[name].match ?? g.repository[name].begin);
  const img = rx('image').exec('@image images/coffee.png')!;
  assert.deepEqual([img[1], img[3]], ['@image', 'images/coffee.png']);
  assert.equal(rx('image').exec('@image https://x.test/a.png')![2], 'https://x.test/a.png');
  const region = rx('inline-region').exec('@region 2 [10, 20.5, 30, 40]')!;
  assert.deepEqual([region[2], region[4], region[6], region[8]], ['10', '20.5', '30', '40']);
  assert.equal(rx('task').exec('@task ocr-regions')![2], 'ocr-regions');
  assert.equal(rx('task').exec('@task dance')![3], 'dance', 'unknown tasks are marked invalid');
  assert.ok(rx('escape').test('@@literal'));
  assert.equal(rx('unknown').exec('@foo bar')![1], '@foo');
});

test('the VS Code serializer keeps keys it does not know, on every level, and an empty file opens as a new notebook', () => {
  const { api, reg } = fakeVscode();
  const req = createRequire(join(root, 'dist', 'extension.js'));
  // A fresh copy of the bundle, bound to this test's fake vscode.
  delete req.cache[join(root, 'dist', 'extension.js')];
  withFakeVscode(api, () => {
    req(join(root, 'dist', 'extension.js')).activate({ subscriptions: [], extensionPath: root, extensionUri: { fsPath: root }, globalStorageUri: { fsPath: '/tmp/loupe-test-storage' } });
  });
  const serializer = reg.serializers[0]!.serializer as { deserializeNotebook(b: Uint8Array): unknown; serializeNotebook(d: unknown): Uint8Array };
  const nb = {
    loupe: 1,
    metadata: { a: 1 },
    cells: [{ kind: 'code', language: 'loupe', source: '@image a.png', metadata: { m: 2 }, outputs: [{ items: [{ mime: 'text/plain', text: 'hi', encoding: 'utf-8' }], metadata: { o: 3 }, renderer: 'x' }], id: 'c1' }],
    future: { plan: true },
  };
  const bytes = new TextEncoder().encode(JSON.stringify(nb, null, 2) + '\n');
  const back = JSON.parse(new TextDecoder().decode(serializer.serializeNotebook(serializer.deserializeNotebook(bytes))));
  assert.deepEqual(back, nb);
  const empty = serializer.deserializeNotebook(new Uint8Array()) as { cells: unknown[] };
  assert.deepEqual(empty.cells, []);
});
