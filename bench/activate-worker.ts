// B5: one cold activation of dist/extension.js with a fake `vscode`, in a fresh process.
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fakeVscode, withFakeVscode } from '../test/helpers/fake-vscode';

const root = join(import.meta.dirname, '..');
const { api, reg } = fakeVscode();
const req = createRequire(join(root, 'dist', 'extension.js'));
const before = new Set(Object.keys(req.cache));
let requireMs = 0;
let activateMs = 0;
withFakeVscode(api, () => {
  const t0 = performance.now();
  const ext = req(join(root, 'dist', 'extension.js'));
  const t1 = performance.now();
  ext.activate({ subscriptions: [], extensionPath: root, extensionUri: { fsPath: root }, globalStorageUri: { fsPath: '/tmp/loupe-bench-storage' } });
  activateMs = performance.now() - t1;
  requireMs = t1 - t0;
});
const modules = Object.keys(req.cache).filter((k) => !before.has(k)).map((k) => relative(root, k));
process.send!({ type: 'result', requireMs, activateMs, modules, commands: reg.commands.size });
