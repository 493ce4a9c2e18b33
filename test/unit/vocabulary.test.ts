// One vocabulary: the task, parameter, dialect and defaults tables in src/common and src/engine are the only
// source; package.json, the grammar and the README must agree with them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULTS } from '../../src/common/defaults';
import { ERROR_TITLES } from '../../src/common/errors';
import { PARAM_KEYS, PARAM_TABLE, checkParam, type ParamSpec } from '../../src/common/params';
import { TASK_TABLE, TASKS } from '../../src/common/tasks';
import { DIRECTIVES } from '../../src/core/cells/parser';
import { DIALECTS } from '../../src/engine/dialects';
import { FAMILIES } from '../../src/engine/local/families';
import { REGISTRY } from '../../src/engine/registry';
import { DEVICES, DTYPES } from '../../src/engine/types';
import { ENGINE_KINDS } from '../../src/engine/remote/providers';
import { REMOTE_DIALECTS } from '../../src/engine/remote/config';
// @ts-expect-error a plain .mjs module, shared with esbuild.mjs
import { buildGrammar, GRAMMAR_TEMPLATE } from '../../scripts/grammar.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const settings = pkg.contributes.configuration.properties as Record<string, { default?: unknown; enum?: string[]; markdownDescription?: string; items?: { properties: Record<string, { enum?: string[] }> } }>;
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The README section from `## heading` to the next `## `. */
const section = (heading: string) => {
  const at = readme.indexOf(`## ${heading}\n`);
  assert.ok(at >= 0, `README has a "## ${heading}" section`);
  const end = readme.indexOf('\n## ', at + 1);
  return readme.slice(at, end < 0 ? undefined : end);
};

test('package.json settings: enums and defaults come from the tables', () => {
  assert.deepEqual(settings['loupe.device']!.enum, [...DEVICES]);
  assert.deepEqual(settings['loupe.dtype']!.enum, ['auto', ...DTYPES]);
  assert.deepEqual(settings['loupe.customModels']!.items!.properties.dialect!.enum, [...DIALECTS]);
  assert.deepEqual(settings['loupe.engines']!.items!.properties.dialect!.enum, [...REMOTE_DIALECTS]);
  assert.deepEqual(settings['loupe.engines']!.items!.properties.kind!.enum, [...ENGINE_KINDS]);
  assert.equal((settings['loupe.engines'] as { scope?: string }).scope, 'application', 'engines come from user settings, never a workspace');
  assert.equal(settings['loupe.defaultModel']!.default, DEFAULTS.model);
  assert.equal(settings['loupe.device']!.default, DEFAULTS.device);
  assert.equal(settings['loupe.dtype']!.default, DEFAULTS.dtype);
  assert.equal(settings['loupe.allowDownloads']!.default, DEFAULTS.allowDownloads);
  assert.equal(settings['loupe.maxImageTokens']!.default, DEFAULTS.maxImageTokens);
  assert.equal(settings['loupe.maxImagePixels']!.default, DEFAULTS.maxImagePixels);
  assert.equal(settings['loupe.unloadAfterMinutes']!.default, DEFAULTS.unloadAfterMinutes);
  assert.equal(settings['loupe.hostTimeoutSeconds']!.default, DEFAULTS.hostTimeoutSeconds);
  assert.deepEqual(settings['loupe.defaultModels']!.default, DEFAULTS.taskModels);
  assert.deepEqual((settings['loupe.defaultModels'] as { propertyNames: { enum: string[] } }).propertyNames.enum, [...TASKS]);
  for (const m of Object.values(DEFAULTS.taskModels)) assert.ok(REGISTRY.some((e) => e.id === m), `default model ${m} is a registry model`);
  for (const e of REGISTRY) assert.ok(settings['loupe.defaultModel']!.markdownDescription!.includes(`\`${e.id}\``), `defaultModel names ${e.id}`);
  for (const d of DIALECTS) assert.ok(settings['loupe.customModels']!.markdownDescription!.includes(`\`${d}\``), `customModels explains dialect ${d}`);
  assert.ok(REGISTRY.some((e) => e.id === DEFAULTS.model), 'the default model is a registry model');
});

test('the grammar highlights exactly the tasks of the table and the parser\'s directives', () => {
  const grammar = JSON.parse(buildGrammar(readFileSync(GRAMMAR_TEMPLATE, 'utf8'), TASKS));
  const task = new RegExp(grammar.repository.task.match);
  for (const t of TASKS) assert.equal(task.exec(`@task ${t}`)![2], t, `@task ${t} is a known task`);
  for (const bad of ['dance', 'ocr-region', 'asks']) assert.equal(task.exec(`@task ${bad}`)![3], bad, `@task ${bad} is marked invalid`);
  for (const d of DIRECTIVES) assert.ok(grammar.repository[d], `the grammar has a rule for @${d}`);
  assert.deepEqual(grammar.patterns.map((p: { include: string }) => p.include.slice(1)).filter((n: string) => (DIRECTIVES as readonly string[]).includes(n)).sort(), [...DIRECTIVES].sort());
});

test('the README documents every directive, task and parameter', () => {
  const lang = section('The prompt-cell language');
  for (const d of DIRECTIVES) assert.match(lang, new RegExp(`\\| \`@${d}\\b`), `README's directive table has @${d}`);
  for (const k of PARAM_KEYS) assert.ok(lang.includes(`\`${k}\``), `README names parameter ${k}`);
  for (const t of TASK_TABLE) assert.ok(lang.includes(`| \`${t.name}\` |`), `README's task table has ${t.name}`);
});

test('the tables hold together: each family runs tasks of the table, each parameter checks its range, each error code has a title', () => {
  for (const f of Object.values(FAMILIES)) for (const t of f.tasks) assert.ok(TASKS.includes(t), `${f.family}: ${t}`);
  for (const e of REGISTRY) for (const c of e.capabilities) assert.ok(c === 'multi-image' || c === 'video' || TASKS.includes(c), `${e.id}: ${c}`);
  for (const p of PARAM_TABLE as readonly ParamSpec[]) {
    if (p.type === 'boolean') continue;
    if (p.min !== undefined) assert.ok('error' in checkParam(p, String(p.min - 1)), `${p.key} below its range`);
    if (p.max !== undefined) assert.ok('error' in checkParam(p, String(p.max * 2)), `${p.key} above its range`);
  }
  for (const [code, title] of Object.entries(ERROR_TITLES)) assert.ok(title.length > 3, code);
});
