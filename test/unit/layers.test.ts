// The layer rules are enforced, not described: `npm run check` (ESLint) rejects each forbidden import.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

/** The import rule's messages for a file that would sit at `path` with this one import. */
async function importErrors(path: string, spec: string): Promise<string[]> {
  const [r] = await eslint.lintText(`import { x } from '${spec}';\nexport const y = x;\n`, { filePath: join(ROOT, path) });
  return r!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const FORBIDDEN: [string, string, RegExp][] = [
  ['src/core/kernel/x.ts', 'vscode', /only src\/extension imports vscode/],
  ['src/core/kernel/x.ts', '../../extension/controller', /imports neither/],
  ['src/core/kernel/x.ts', '../../engine/local/client', /through src\/engine\/types/],
  ['src/engine/local/x.ts', '../../core/kernel/runner', /imports only src\/common and src\/images/],
  ['src/engine/dialects/x.ts', '../local/client', /do not depend on the local engine/],
  ['src/engine/types.ts', './local/engine', /do not depend on the local engine/],
  ['src/images/x.ts', '../engine/types', /imports only src\/common/],
  ['src/cli/x.ts', '../extension/engineService', /does not import the extension/],
  ['src/cli/x.ts', 'vscode', /only src\/extension imports vscode/],
  ['src/extension/x.ts', '../../webview/view', /separate bundle/],
  ['src/common/x.ts', 'node:fs', /imports nothing/],
  ['src/common/x.ts', '../images/load', /imports nothing/],
  ['webview/x.ts', '../src/engine/dialects', /imports only src\/common/],
  ['webview/x.ts', 'node:path', /imports only src\/common/],
  ['webview/x.ts', 'sharp', /imports only src\/common/],
];

const ALLOWED: [string, string][] = [
  ['src/core/kernel/x.ts', '../../engine/types'],
  ['src/core/kernel/x.ts', '../../engine/dialects'],
  ['src/core/kernel/x.ts', '../../images/load'],
  ['src/engine/local/x.ts', '../../images/prepare'],
  ['src/engine/dialects/x.ts', '../../common/tasks'],
  ['src/extension/x.ts', 'vscode'],
  ['src/extension/x.ts', '../core/kernel/kernel'],
  ['src/cli/x.ts', '../engine/local/engine'],
  ['src/common/x.ts', './result'],
  ['webview/x.ts', '../src/common/result'],
  ['webview/x.ts', 'vscode-notebook-renderer'],
];

test('each forbidden import between layers is an error of npm run check, naming the rule', async () => {
  for (const [path, spec, why] of FORBIDDEN) {
    const errors = await importErrors(path, spec);
    assert.ok(errors.length >= 1, `${path} importing ${spec} should be refused`);
    assert.ok(errors.some((e) => why.test(e)), `${path} importing ${spec}: ${errors.join(' / ')}`);
  }
});

test('the imports each layer may make pass', async () => {
  for (const [path, spec] of ALLOWED) assert.deepEqual(await importErrors(path, spec), [], `${path} importing ${spec}`);
});
