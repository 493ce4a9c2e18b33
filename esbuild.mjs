// Builds the extension host bundle (Node, CJS), the renderer bundle (browser, ESM) and the prompt-cell grammar.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { grammarText } from './scripts/grammar.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };
// ES modules bundled into CJS (tinyglobby's fdir calls createRequire(import.meta.url)) get the bundle's own URL.
const IMPORT_META = 'const __loupeImportMetaUrl = require("node:url").pathToFileURL(__filename).href;';
const nodeCommon = { ...common, platform: 'node', format: 'cjs', target: 'node20', define: { 'import.meta.url': '__loupeImportMetaUrl' } };

const builds = [
  {
    ...nodeCommon,
    entryPoints: { extension: 'src/extension/extension.ts', host: 'src/engine/local/host/main.ts' },
    outdir: 'dist',
    banner: { js: IMPORT_META },
    // Native and heavy packages load from node_modules at run time, never at activation.
    external: ['vscode', 'sharp', 'onnxruntime-node', '@huggingface/transformers'],
  },
  {
    // The command-line runner `loupe` (package.json "bin"): Node, CJS, the same externals as the host.
    ...nodeCommon,
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir: 'dist',
    banner: { js: `#!/usr/bin/env node\n${IMPORT_META}` },
    external: ['vscode', 'sharp', 'onnxruntime-node', '@huggingface/transformers'],
  },
  {
    ...common,
    entryPoints: { renderer: 'webview/index.ts' },
    outdir: 'dist',
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
  },
];

// The prompt-cell grammar, with the task names from the task table.
mkdirSync('dist', { recursive: true });
writeFileSync('dist/loupe.tmLanguage.json', await grammarText());

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
