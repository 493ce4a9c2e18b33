// Runs a batch cell (`@images <glob>`): the same task once per image and model, each result appended to the
// sidecar as it finishes. Memory stays flat with the number of images (only counters, the first rows and the set
// of slots already done are kept); images already done with the same settings are skipped (resume); the local
// engine runs one image at a time, a remote one up to its `concurrency`; an unreadable image is an error row.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { addCounts, BATCH_PAGE_ROWS, BATCH_ROW_VERSION, emptyCounts, sidecarRelative, THUMB_SIZE, type BatchRow, type BatchRowView, type BatchScore, type BatchSummary, type ScoreCounts } from '../../common/batch';
import { describeError, isLoupeError, LoupeError } from '../../common/errors';
import { RESULT_MIME, RESULT_VERSION, type LoupeResult, type ModelInfo } from '../../common/result';
import { parseGeneration, type Parsed } from '../../engine/dialects';
import type { Engine, GenerateRequest, Generation, LoadedModel, ModelHandle } from '../../engine/types';
import { inspectImage, loadImage } from '../../images/load';
import type { ParsedCell } from '../cells/parser';
import type { PromptContext } from '../kernel/kernel';
import { errorOutput, jsonItem, textItem, type OutputSpec } from '../kernel/outputs';
import { generateTiled, tilingFor } from '../kernel/tiles';
import { matchImages } from './images';
import { readRows, rowOrder, SidecarWriter, slotOf } from './sidecar';
import { readTruth, scoreImage } from './truth';

export interface BatchDeps {
  /** The model a cell without `@model` runs, and notes saying why. */
  chooseModel(cell: ParsedCell, notes: string[]): string;
  /** A model checked against the cell's task and prepared (downloaded), as the runner does for any cell. */
  prepare(ref: string): Promise<{ engine: Engine; handle: ModelHandle }>;
  onLoaded?(model: LoadedModel): void;
  settings(): { maxImageTokens: number; maxImagePixels: number; batchMaxImages: number; batchLimitHint: string };
  now?: () => number;
  /** Least time between progress updates of the output. */
  updateIntervalMs?: number;
}

interface Column {
  modelIndex: number | undefined;
  engine: Engine;
  handle: ModelHandle;
  model: LoadedModel;
  info: ModelInfo;
  /** Requests this model takes at once. */
  slots: number;
}

/** Tries per image when the engine fails in a way that may pass (a crashed host, a dropped connection). */
const TRIES = 3;
/** The batch stops after this many images in a row fail on the engine (not on the image): something is down. */
const STOP_AFTER_FAILURES = 5;
const UPDATE_INTERVAL_MS = 500;

const round = (n: number) => Math.round(n * 10) / 10;

/** What decides a batch's results: the sidecar's name, so a changed prompt, model or parameter starts a new one. */
export function batchKey(cell: ParsedCell, models: ModelInfo[], maxImageTokens: number): string {
  const identity = { globs: cell.batch.map((b) => b.glob), task: cell.task, prompt: cell.prompt, models: models.map((m) => [m.id, m.revision ?? '']), params: cell.params, maxImageTokens };
  return 'batch-' + createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

export async function runBatch(cell: ParsedCell, ctx: PromptContext, deps: BatchDeps): Promise<boolean> {
  const now = deps.now ?? Date.now;
  const t0 = now();
  const s = deps.settings();
  const result: LoupeResult = { version: RESULT_VERSION, kind: 'batch', status: 'running', task: cell.task, images: [], prompt: cell.prompt, runs: [], params: { ...cell.params }, timings: {}, warnings: [] };
  let writer: SidecarWriter | undefined;
  try {
    if (!ctx.notebookPath || !ctx.baseDir) throw new LoupeError('bad-input', 'A batch writes its results next to the notebook: save the notebook first.');
    const baseDir = ctx.baseDir;
    const images = await matchImages(
      cell.batch.map((b) => b.glob),
      { baseDir, maxImages: s.batchMaxImages, limitHint: deps.settings().batchLimitHint },
    );
    const truth = cell.truth ? await readTruth(cell.truth.source, baseDir, images) : undefined;
    if (truth && !images.some((p) => truth.boxesOf(p))) throw new LoupeError('bad-input', `@truth ${truth.source} describes none of the ${images.length} images the batch matches: its file_name values must name them (relative to the notebook, or by file name).`);

    // Every model is prepared and loaded before the first image: a missing model fails the cell, not 10,000 rows.
    const notes: string[] = [];
    const refs = cell.models.length ? cell.models : [deps.chooseModel(cell, notes)];
    if (notes.length) result.notes = notes;
    const side = refs.length > 1;
    const columns: Column[] = [];
    for (const [m, ref0] of refs.entries()) {
      const { engine, handle } = await deps.prepare(ref0);
      const model = await engine.load(handle, { signal: ctx.signal });
      deps.onLoaded?.(model);
      const info: ModelInfo = { ...handle.info, provider: model.provider, ...(model.dtype ? { dtype: model.dtype } : {}) };
      columns.push({ modelIndex: side ? m : undefined, engine, handle, model, info, slots: Math.max(1, engine.concurrency ?? 1) });
    }

    const key = batchKey(cell, columns.map((c) => c.info), s.maxImageTokens);
    const sidecar = sidecarRelative(basename(ctx.notebookPath), key);
    const sidecarPath = resolve(baseDir, sidecar);
    const total = images.length * columns.length;
    const summary: BatchSummary = { sidecar, globs: cell.batch.map((b) => b.glob), ...(cell.truth ? { truth: cell.truth.source } : {}), images: images.length, models: columns.length, done: 0, ok: 0, errors: 0, resumed: 0, state: 'running', elapsedMs: 0, rows: [] };
    result.batch = summary;

    // Resume: what an earlier run with the same settings finished (errors are tried again).
    const done = new Map<string, string>();
    const resumedScores = new Map<string, ScoreCounts>();
    const scores = columns.map(() => emptyCounts());
    const first: BatchRowView[] = [];
    const keepFirst = (row: BatchRowView) => {
      if (row.index >= BATCH_PAGE_ROWS) return;
      const at = first.findIndex((r) => slotOf(r) === slotOf(row));
      if (at >= 0) first[at] = row;
      else first.push(row);
    };
    const score = (row: BatchRow): ScoreCounts | undefined => {
      const boxes = row.status === 'ok' && truth ? truth.boxesOf(row.image) : undefined;
      return boxes ? scoreImage(row.regions, boxes) : undefined;
    };
    if (!cell.rerun) {
      const earlier = new Map<string, BatchRow>();
      await readRows(sidecarPath, (r) => {
        if (r.index < images.length && images[r.index] === r.image) earlier.set(slotOf(r), r);
      });
      for (const r of earlier.values()) {
        if (r.status !== 'ok') continue;
        done.set(slotOf(r), r.sha256);
        summary.done++;
        summary.ok++;
        summary.resumed++;
        const sc = score(r);
        if (sc) {
          scores[r.modelIndex ?? 0] = addCounts(scores[r.modelIndex ?? 0]!, sc);
          resumedScores.set(slotOf(r), sc);
        }
        keepFirst({ ...r, ...(sc ? { score: sc } : {}) });
      }
    }
    // Rows from an earlier run have no thumbnails in the sidecar: make them for the rows the output shows.
    // Side by side, an image has a row per model: decoded once.
    const thumbs = new Map<string, BatchRowView['thumb']>();
    for (const r of first) {
      if (r.thumb) continue;
      if (!thumbs.has(r.image)) {
        const img = await loadImage(resolve(baseDir, r.image), { maxPixels: s.maxImagePixels, maxSide: THUMB_SIZE, signal: ctx.signal });
        thumbs.set(r.image, img.ok ? { mime: img.image.display.mime, data: img.image.display.data, width: img.image.display.width, height: img.image.display.height } : undefined);
      }
      const thumb = thumbs.get(r.image);
      if (thumb) r.thumb = thumb;
    }
    writer = await SidecarWriter.open(sidecarPath, { truncate: cell.rerun === true });

    let lastUpdate = -Infinity;
    const started = now();
    let ranNow = 0;
    const update = async (force = false) => {
      const t = now();
      if (!force && t - lastUpdate < (deps.updateIntervalMs ?? UPDATE_INTERVAL_MS)) return;
      lastUpdate = t;
      summary.elapsedMs = Math.round(t - t0);
      const secs = (t - started) / 1000;
      if (ranNow > 0 && secs > 0) {
        summary.imagesPerSecond = round(ranNow / secs);
        summary.etaMs = Math.round(((total - summary.done) / (ranNow / secs)) * 1000);
      }
      summary.rows = [...first].sort(rowOrder);
      if (truth) summary.scores = columns.map((c, i): BatchScore => ({ ...scores[i]!, ...(c.modelIndex !== undefined ? { modelIndex: c.modelIndex } : {}), model: c.info }));
      await ctx.replaceOutputs([batchOutput(result)]);
    };
    await update(true);

    // Work: image by image, each model's request under that model's limit of requests in flight.
    // The rows the output shows get a thumbnail (a decode and an encode); the others only need the header's size.
    type Probe = { ok: true; image: { width: number; height: number }; thumb?: BatchRowView['thumb'] } | { ok: false; error: string };
    const probe = async (path: string, image: string, index: number, data: Buffer | undefined): Promise<Probe> => {
      if (index < BATCH_PAGE_ROWS || !data) {
        const img = await loadImage(path, { maxPixels: s.maxImagePixels, maxSide: THUMB_SIZE, signal: ctx.signal });
        if (!img.ok) return img;
        const d = img.image.display;
        return { ok: true, image: img.image, ...(d.data ? { thumb: { mime: d.mime, data: d.data, width: d.width, height: d.height } } : {}) };
      }
      try {
        return { ok: true, image: await inspectImage(data, image, s.maxImagePixels) };
      } catch (e) {
        return { ok: false, error: describeError(e).message };
      }
    };
    let failuresInARow = 0;
    let stop: LoupeError | undefined;
    const inFlight = columns.map(() => 0);
    const waiting: (() => void)[] = [];
    const release = () => waiting.splice(0).forEach((w) => w());
    // `probed`: the image's size (and thumbnail), found once for all the models that run it.
    const runOne = async (c: Column, index: number, image: string, sha: string, data: Buffer | undefined, probed: Promise<Probe>) => {
      const bytes = data?.length ?? 0;
      const col = c.modelIndex ?? 0;
      const path = resolve(baseDir, image);
      const tImg = now();
      const base = { v: BATCH_ROW_VERSION as typeof BATCH_ROW_VERSION, index, image, sha256: sha, bytes, ...(c.modelIndex !== undefined ? { modelIndex: c.modelIndex } : {}), model: c.info };
      let row: BatchRowView;
      const img = await probed;
      if (!img.ok) {
        row = { ...base, width: 0, height: 0, status: 'error', answer: '', regions: [], stats: { totalMs: round(now() - tImg) }, error: img.error, at: new Date().toISOString() };
      } else {
        let gen: (Generation & { parsed?: Parsed }) | undefined;
        const tileWarnings: string[] = [];
        let lastErr: LoupeError | undefined;
        for (let attempt = 0; attempt < TRIES && !ctx.signal.aborted; attempt++) {
          try {
            const req: GenerateRequest = { task: cell.task, prompt: cell.prompt, images: [{ source: image, path }], regions: [], params: cell.params, maxImageTokens: s.maxImageTokens, maxImagePixels: s.maxImagePixels };
            // Sub-images (`@set tiles`), as for a single image: a page of a scan archive is read in parts.
            tileWarnings.length = 0;
            const tiling = tilingFor(cell.task, cell.params.tiles, c.handle, img.image, 1, tileWarnings);
            gen = tiling ? await generateTiled(c.engine, c.model, c.handle.dialect, req, tiling, img.image, { signal: ctx.signal }) : await c.engine.generate(c.model, req, { signal: ctx.signal });
            break;
          } catch (e) {
            lastErr = isLoupeError(e) ? e : new LoupeError('internal', (e as Error).message, { cause: e });
            if (ctx.signal.aborted) break;
            const again = lastErr.retryable || lastErr.code === 'host-crashed' || lastErr.code === 'host-timeout' || lastErr.code === 'not-loaded';
            if (!again) break;
            // A restarted model host has nothing loaded: load the model again before the next try.
            if (lastErr.code !== 'server-busy' && !lastErr.code.startsWith('server-')) c.model = await c.engine.load(c.handle, { signal: ctx.signal }).catch(() => c.model);
            await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
          }
        }
        if (ctx.signal.aborted) return; // cancelled in flight: not a result; the next run does it again
        const thumb = img.thumb ? { thumb: img.thumb } : {};
        if (!gen) {
          const err = describeError(lastErr);
          // A bad image is the image's fault, not the engine's: it never stops the batch.
          if (err.code !== 'bad-image') failuresInARow++;
          if (failuresInARow >= STOP_AFTER_FAILURES) stop ??= new LoupeError(lastErr?.code ?? 'internal', `The batch stopped after ${failuresInARow} images in a row failed on ${c.info.id}: ${err.message}`);
          row = { ...base, width: img.image.width, height: img.image.height, status: 'error', answer: '', regions: [], stats: { totalMs: round(now() - tImg) }, error: `${err.title}: ${err.message}`, at: new Date().toISOString(), ...thumb };
        } else {
          failuresInARow = 0;
          const parsed = gen.parsed ?? parseGeneration(c.handle.dialect, cell.task, gen);
          const warnings = [...new Set([...tileWarnings, ...parsed.warnings, ...(gen.warnings ?? [])])];
          row = {
            ...base,
            width: img.image.width,
            height: img.image.height,
            status: 'ok',
            answer: parsed.text,
            regions: parsed.regions.map((r) => ({ ...r, image: 1 })),
            stats: { ...Object.fromEntries(Object.entries(gen.stats).map(([k, v]) => [k, round(v)])), totalMs: round(now() - tImg) },
            ...(warnings.length ? { warnings } : {}),
            at: new Date().toISOString(),
            ...thumb,
          };
        }
      }
      const { thumb, ...stored } = row;
      await writer!.append(stored);
      ranNow++;
      summary.done++;
      if (row.status === 'ok') summary.ok++;
      else summary.errors++;
      const sc = score(row);
      if (sc) scores[col] = addCounts(scores[col]!, sc);
      keepFirst({ ...row, ...(thumb ? { thumb } : {}), ...(sc ? { score: sc } : {}) });
      await update();
    };

    // Only the requests in flight are held: a 10,000-image batch keeps a handful of promises, not 10,000.
    const running = new Set<Promise<void>>();
    ctx.signal.addEventListener('abort', release, { once: true });
    for (const [index, image] of images.entries()) {
      if (ctx.signal.aborted || stop) break;
      let sha = '';
      let data: Buffer | undefined;
      try {
        data = await readFile(resolve(baseDir, image));
        sha = createHash('sha256').update(data).digest('hex');
      } catch {
        /* unreadable: loadImage says why, in an error row */
      }
      // Done before with the same content and settings: the sidecar has it. A changed image runs again.
      const pending = columns.filter((c) => !sha || done.get(slotOf({ index, modelIndex: c.modelIndex })) !== sha);
      const probed = pending.length ? probe(resolve(baseDir, image), image, index, data) : undefined;
      // Awaited by each model's run; a batch stopped before any of them starts must not leave it unhandled.
      probed?.catch(() => undefined);
      for (const c of pending) {
        const slot = slotOf({ index, modelIndex: c.modelIndex });
        if (done.has(slot)) {
          // Changed since the earlier run: its old row no longer counts.
          done.delete(slot);
          summary.done--;
          summary.ok--;
          summary.resumed--;
          const old = resumedScores.get(slot);
          if (old) scores[c.modelIndex ?? 0] = addCounts(scores[c.modelIndex ?? 0]!, negate(old));
        }
        const col = c.modelIndex ?? 0;
        while (inFlight[col]! >= c.slots && !ctx.signal.aborted && !stop) await new Promise<void>((r) => waiting.push(r));
        if (ctx.signal.aborted || stop) break;
        inFlight[col]!++;
        const task: Promise<void> = runOne(c, index, image, sha, data, probed!)
          .catch((e: unknown) => {
            stop ??= isLoupeError(e) ? e : new LoupeError('internal', (e as Error).message, { cause: e });
          })
          .finally(() => {
            inFlight[col]!--;
            running.delete(task);
            release();
          });
        running.add(task);
      }
    }
    await Promise.allSettled([...running]);
    summary.state = ctx.signal.aborted ? 'cancelled' : stop ? 'failed' : 'done';
    if (stop) summary.error = `${stop.message}\nThe ${summary.done} rows done are kept in ${sidecar}: run the cell again to resume.`;
    if (ctx.signal.aborted) summary.error = `Cancelled: ${summary.done} of ${total} done, kept in ${sidecar}. Run the cell again to resume.`;
    result.status = summary.state === 'done' ? 'ok' : 'error';
    result.timings.totalMs = round(now() - t0);
    await update(true);
    return summary.state === 'done';
  } catch (e) {
    const err = describeError(e);
    result.status = 'error';
    result.error = err.message;
    if (result.batch) {
      result.batch.state = 'failed';
      result.batch.error = err.message;
    }
    await ctx.replaceOutputs([errorOutput(err.title, err.message), ...(result.batch ? [batchOutput(result)] : [])]);
    return false;
  } finally {
    await writer?.close();
  }
}

function negate(c: ScoreCounts): ScoreCounts {
  return { images: -c.images, truth: -c.truth, predicted: -c.predicted, hits: -c.hits, iouSum: -c.iouSum, points: -c.points, pointsIn: -c.pointsIn };
}

/** The batch's output: the result JSON (summary and first rows) and a text summary for other viewers. */
export function batchOutput(result: LoupeResult): OutputSpec {
  return { items: [jsonItem(RESULT_MIME, result), textItem(batchText(result))] };
}

export function batchText(result: LoupeResult): string {
  const b = result.batch!;
  const lines = [`Batch: ${b.done} of ${b.images * b.models} done (${b.ok} ok, ${b.errors} errors${b.resumed ? `, ${b.resumed} from an earlier run` : ''}) — ${b.state}; results in ${b.sidecar}`];
  for (const r of b.rows) lines.push(`${r.image}${b.models > 1 ? ` [${r.model?.id ?? ''}]` : ''}: ${r.status === 'ok' ? `${r.answer.replace(/\s+/g, ' ').slice(0, 200)}${r.regions.length ? ` (${r.regions.length} regions)` : ''}` : `error: ${r.error}`}`);
  if (b.images * b.models > b.rows.length) lines.push(`… ${b.images * b.models - b.rows.length} more rows in ${b.sidecar}`);
  if (b.error) lines.push(b.error);
  return lines.join('\n');
}
