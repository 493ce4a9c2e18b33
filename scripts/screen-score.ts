// The screen grounding score: a find-element batch over the screens of scripts/screens.ts, through the same notebook
// runner as `loupe run` (EnginePromptRunner on the local model host), scored per model as point-in-box rate and mean
// IoU (src/core/eval/grounding.ts). Written as a runner of its own until `loupe eval` lands; then it becomes an
// `@truth` batch over the same truth file.
//
//   node esbuild.mjs && node --import tsx scripts/screen-score.ts [--model <ref>]… [--truth <screenspot.json>] [--json <out>]
//
// Without --model it scores the fixture models. Real models: `--model qwen2-vl-2b --model florence-2-base` (downloaded
// into $LOUPE_MODELS_DIR, default ~/.cache/loupe/models, on first use), or a local folder.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DEFAULTS } from '../src/common/defaults';
import { RESULT_MIME, ERROR_MIME, type LoupeResult } from '../src/common/result';
import { parseCell } from '../src/core/cells/parser';
import { scoreAnswer, summarize, type GroundingSummary, type GroundingTruth } from '../src/core/eval/grounding';
import type { OutputSpec } from '../src/core/kernel/outputs';
import { EnginePromptRunner } from '../src/core/kernel/runner';
import { HostClient } from '../src/engine/local/client';
import { LocalEngine } from '../src/engine/local/engine';

const ROOT = join(import.meta.dirname, '..');
export const FIXTURE_MODELS = ['tiny-qwen2vl', 'tiny-florence2', 'tiny-yolo'].map((m) => join(ROOT, 'test', 'fixtures', 'models', m));
export const DEFAULT_TRUTH = join(ROOT, 'test', 'fixtures', 'screens', 'screenspot.json');

export interface ModelScore {
  model: string;
  summary?: GroundingSummary;
  /** Why the model was not scored (it cannot run find-element…). */
  skipped?: string;
  /** The instructions whose answer point landed in the element. */
  hits?: string[];
  ms: number;
}

/** Runs every instruction as a find-element cell on each model and scores the first region of each answer. */
export async function screenScore(o: { models: string[]; truthFile?: string; hostScript?: string; allowDownloads?: boolean; timeoutMs?: number; log?: (s: string) => void }): Promise<ModelScore[]> {
  const truthFile = resolve(o.truthFile ?? DEFAULT_TRUTH);
  const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as GroundingTruth[];
  const base = dirname(truthFile);
  const client = new HostClient({ script: o.hostScript ?? join(ROOT, 'dist', 'host.js'), idleUnloadMs: 0, timeoutMs: o.timeoutMs ?? 120_000, timeoutSetting: 'screen-score' });
  const engine = new LocalEngine(client, () => ({ device: 'auto', dtype: 'auto', allowDownloads: o.allowDownloads ?? true, endpoint: process.env.HF_ENDPOINT ?? 'https://huggingface.co', token: process.env.HF_TOKEN, modelsDir: process.env.LOUPE_MODELS_DIR?.trim() || join(homedir(), '.cache', 'loupe', 'models') }));
  const runner = new EnginePromptRunner({
    engines: { pick: (ref) => ({ engine, ref }) },
    settings: () => ({ defaultModel: DEFAULTS.model, maxImageTokens: DEFAULTS.maxImageTokens, maxImagePixels: DEFAULTS.maxImagePixels }),
    withProgress: (label, fn) => {
      o.log?.(label);
      return fn(() => undefined, new AbortController().signal);
    },
  });
  const out: ModelScore[] = [];
  try {
    for (const model of o.models) {
      const t0 = performance.now();
      const items: Parameters<typeof summarize>[0] = [];
      let skipped: string | undefined;
      for (const t of truth) {
        const cell = parseCell(`@model ${model}\n@image ${join(base, t.img_filename)}\n@task find-element\n${t.instruction.replace(/^@/, '@@')}`);
        let last: OutputSpec[] = [];
        await runner.run(cell, { baseDir: base, signal: AbortSignal.timeout(o.timeoutMs ?? 600_000), replaceOutputs: async (x) => void (last = x) });
        const items_ = last.flatMap((x) => x.items);
        const error = items_.find((i) => i.mime === ERROR_MIME);
        const res = items_.find((i) => i.mime === RESULT_MIME);
        const result = res ? (JSON.parse(new TextDecoder().decode(res.data)) as LoupeResult) : undefined;
        if (error && !result?.runs.length) {
          // A model that cannot run the task, or cannot load, is reported once, not scored as misses.
          skipped = (JSON.parse(new TextDecoder().decode(error.data)) as { message: string }).message;
          break;
        }
        const answer = result?.runs[0]?.regions.find((r) => r.kind === 'box' || r.kind === 'point');
        items.push({ truth: t, score: scoreAnswer(t, answer) });
      }
      out.push({ model, ...(skipped ? { skipped } : { summary: summarize(items), hits: items.filter((i) => i.score.hit).map((i) => i.truth.instruction) }), ms: performance.now() - t0 });
      o.log?.(`${model}: ${skipped ? `skipped (${skipped.split('\n')[0]})` : `${items.length} instructions`}`);
    }
  } finally {
    client.dispose();
  }
  return out;
}

export function scoreTable(scores: ModelScore[]): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const rows = scores.map((s) =>
    s.summary
      ? `| ${s.model.replace(ROOT + '/', '')} | ${s.summary.n} | ${pct(s.summary.pointInBox)} | ${s.summary.meanIou.toFixed(3)} | ${Object.entries(s.summary.byType).map(([k, v]) => `${k} ${pct(v.pointInBox)}`).join(', ')} |`
      : `| ${s.model.replace(ROOT + '/', '')} | – | – | – | not scored: ${s.skipped!.split('\n')[0]!.replace(/\|/g, '\\|')} |`,
  );
  return ['| model | instructions | point in box | mean IoU | point in box by type |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const all = (name: string) => args.flatMap((a, i) => (a === name && args[i + 1] ? [args[i + 1]!] : []));
  const models = all('--model').map((m) => (existsSync(m) ? resolve(m) : m));
  const host = join(ROOT, 'dist', 'host.js');
  if (!existsSync(host)) throw new Error('dist/host.js is missing: run `node esbuild.mjs` first.');
  const scores = await screenScore({ models: models.length ? models : FIXTURE_MODELS, truthFile: all('--truth')[0], log: (s) => console.error(`[screen-score] ${s}`) });
  console.log(scoreTable(scores));
  const json = all('--json')[0];
  if (json) writeFileSync(json, JSON.stringify(scores, null, 2) + '\n');
}

if (process.argv[1] && /screen-score\.ts$/.test(process.argv[1])) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
