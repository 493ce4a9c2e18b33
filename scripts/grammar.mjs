// The TextMate grammar for prompt cells is built from syntaxes/loupe.tmLanguage.json with the task names filled in
// from the task table (src/common/tasks.ts), so a new task is highlighted (and unknown ones marked) without
// editing the grammar. Used by esbuild.mjs (writes dist/loupe.tmLanguage.json) and by the tests.
import { readFileSync } from 'node:fs';
import * as esbuild from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
export const GRAMMAR_TEMPLATE = `${root}syntaxes/loupe.tmLanguage.json`;

/** The task names from the table, by bundling src/common/tasks.ts (it imports nothing). */
export async function taskNames() {
  const out = await esbuild.build({ entryPoints: [`${root}src/common/tasks.ts`], bundle: true, write: false, format: 'cjs', platform: 'neutral', logLevel: 'silent' });
  const module = { exports: {} };
  new Function('module', 'exports', out.outputFiles[0].text)(module, module.exports);
  return module.exports.TASKS;
}

/** The grammar with `{{TASKS}}` replaced by an alternation of the names, longest first (so `ocr` never shadows `ocr-regions`). */
export function buildGrammar(template, tasks) {
  const alternation = [...tasks].sort((a, b) => b.length - a.length || a.localeCompare(b)).join('|');
  const text = template.replace('{{TASKS}}', alternation);
  JSON.parse(text);
  return text;
}

export async function grammarText() {
  return buildGrammar(readFileSync(GRAMMAR_TEMPLATE, 'utf8'), await taskNames());
}
