// Runs prompt cells on any Engine: picks the model, checks the task, loads images, streams each run's answer and
// parses it with the model's dialect. Plain TypeScript shared by the VS Code kernel and the CLI.
import { DEFAULTS } from '../../common/defaults';
import { describeError, LoupeError } from '../../common/errors';
import { RESULT_MIME, RESULT_VERSION, allRegions, regionColor, type LoupeResult, type ModelInfo, type Run } from '../../common/result';
import { taskSpec, type Task } from '../../common/tasks';
import { clampBox } from '../../common/regions';
import { parseGeneration, type Parsed } from '../../engine/dialects';
import { usesPrompt } from '../../engine/dialects/prompts';
import { modelsFor } from '../../engine/registry';
import type { Capability, Engine, EngineImage, EngineSet, GenerateRequest, LoadedModel, ModelHandle, PrepareProgress } from '../../engine/types';
import { burnRegions } from '../../images/burn';
import { loadImage, type ImageResult } from '../../images/load';
import { runBatch } from '../batch/run';
import type { ParsedCell } from '../cells/parser';
import type { PromptContext, PromptRunner } from './kernel';
import { errorOutput, jsonItem, resultOutput, textItem, toResultImages, type OutputSpec } from './outputs';
import { describeTiling, generateTiled, tilingFor } from './tiles';
import { screenRegions } from './screens';
import { checkVideoModel, prepareVideoPrompt, probeVideoCell, type PreparedVideo, type VideoSettings } from './video';

export interface RunnerSettings {
  /** Model for cells without `@model`, after `defaultModels`. */
  defaultModel: string;
  /** Models for cells without `@model`, by task (loupe.defaultModels). */
  defaultModels?: Partial<Record<Task, string>>;
  /** No network at all: https images are refused. */
  offline?: boolean;
  maxImageTokens: number;
  maxImagePixels: number;
  /** Most images one `@images` batch may match (loupe.batchMaxImages, --max-images), and how to change it. */
  batchMaxImages?: number;
  batchLimitHint?: string;
  /** ffmpeg, the frames cache and the clip-length limit, for cells with `@video`. */
  video?: VideoSettings;
}

export interface RunnerDeps {
  engines: EngineSet;
  settings(): RunnerSettings;
  /** Runs a model's preparation (a download) with visible progress: a notification, or stderr for the CLI. */
  withProgress<T>(label: string, fn: (onProgress: (p: PrepareProgress) => void, signal: AbortSignal) => Promise<T>): Promise<T>;
  onLoaded?(model: LoadedModel): void;
  now?: () => number;
  /** Least time between streaming updates. */
  streamIntervalMs?: number;
}

// Each update is serialized by VS Code in the extension host: a few per second read as live without costing it.
const STREAM_INTERVAL_MS = 150;

interface PreparedModel {
  engine: Engine;
  handle: ModelHandle;
}

interface PlannedRun {
  /** 1-based indices into the cell's images. */
  images: number[];
  /** Regions with `image` 1-based within this run's images. */
  regions: GenerateRequest['regions'];
}

/** Which images each model run gets: one run per image for per-image tasks, one run for questions across images. */
export function planRuns(cell: ParsedCell, multiImage: boolean, modelId: string): PlannedRun[] {
  const all = cell.images.map((_, i) => i + 1);
  const regions = cell.regions.map((r) => ({ image: r.image, box: r.box }));
  const spec = taskSpec(cell.task);
  if (spec.needsRegion || (cell.regions.length > 0 && cell.task === 'ask')) {
    const img = regions[0]?.image ?? 1;
    if (cell.task === 'ask' && all.length > 1 && multiImage) return [{ images: all, regions }];
    return [{ images: [img], regions: regions.filter((r) => r.image === img).map((r) => ({ ...r, image: 1 })) }];
  }
  if (spec.runs === 'per-image' && all.length > 1) return all.map((i) => ({ images: [i], regions: [] }));
  if (all.length > 1 && !multiImage) {
    throw new LoupeError('task-unsupported', `${modelId} reads one image at a time and cannot answer a question across ${all.length} images. Models that can: ${modelsFor('multi-image').join(', ')}.`);
  }
  return [{ images: all, regions }];
}

/** What the task itself needs from the cell, checked before any model is prepared. */
export function checkCell(cell: ParsedCell): void {
  const spec = taskSpec(cell.task);
  if (spec.needsImage && cell.images.length === 0 && !cell.videos?.length) throw new LoupeError('bad-input', `@task ${cell.task} needs an image: add an @image line.`);
  if (spec.needsPrompt && !cell.prompt.trim()) throw new LoupeError('bad-input', `@task ${cell.task} needs a phrase to find: write it as the prompt.`);
  if (spec.needsRegion && cell.regions.length === 0) throw new LoupeError('bad-input', `@task ${cell.task} needs an @region [x1, y1, x2, y2].`);
}

export function checkTask(id: string, capabilities: readonly Capability[], task: Task): void {
  if (capabilities.includes(task)) return;
  const can = modelsFor(task);
  throw new LoupeError('task-unsupported', `${id} cannot run @task ${task}.${can.length ? ` Models that can: ${can.join(', ')}.` : ''}`);
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * The cell's `@region`s against the images' sizes: wholly outside is an error that names the image's size; partly
 * outside is clamped, with a warning. Returns the regions to use.
 */
export function checkRegions(cell: ParsedCell, sizes: { width: number; height: number }[], warnings: string[]): ParsedCell['regions'] {
  return cell.regions.map((r) => {
    const { width: w, height: h } = sizes[r.image - 1]!;
    const text = `@region ${cell.images.length > 1 ? `${r.image} ` : ''}[${r.box.join(', ')}] (line ${r.line})`;
    const c = clampBox(r.box, w, h);
    if (!c) throw new LoupeError('bad-input', `${text} lies outside image ${r.image}, which is ${w}×${h} pixels: a region is in the image's pixels, x from 0 to ${w} and y from 0 to ${h}.`);
    if (c.clamped) warnings.push(`${text} reached outside image ${r.image} (${w}×${h} pixels) and was clamped to [${c.box.map((v) => Math.round(v * 100) / 100).join(', ')}].`);
    return { ...r, box: c.box };
  });
}

export class EnginePromptRunner implements PromptRunner {
  constructor(private readonly deps: RunnerDeps) {}

  /**
   * The model for a cell: its `@model`, else the default for its task, else the default model; a default that
   * cannot run the task gives way to the first registry model that can, and the result says which model ran.
   */
  private chooseModel(cell: ParsedCell, s: RunnerSettings, notes: string[]): string {
    if (cell.model) return cell.model;
    const byTask = s.defaultModels?.[cell.task];
    const first = byTask ?? s.defaultModel;
    const { engine, ref } = this.deps.engines.pick(first);
    const known = engine.describe(ref);
    if (known && !known.capabilities.includes(cell.task)) {
      const can = modelsFor(cell.task)[0];
      if (can) {
        notes.push(`No @model: ${first}, the default model, cannot run @task ${cell.task}, so ${can} ran. Set a default per task (loupe.defaultModels), or write @model.`);
        return can;
      }
    }
    if (byTask) notes.push(`No @model: ran ${byTask}, the default model for @task ${cell.task}.`);
    return first;
  }

  async run(cell: ParsedCell, ctx: PromptContext): Promise<boolean> {
    if (cell.batch.length) return this.runBatch(cell, ctx);
    const now = this.deps.now ?? Date.now;
    const t0 = now();
    const s = this.deps.settings();
    const result: LoupeResult = { version: RESULT_VERSION, kind: 'prompt', status: 'running', task: cell.task, images: [], prompt: cell.prompt, runs: [], params: { ...cell.params }, timings: {}, warnings: [] };
    let loaded: ImageResult[] = [];
    const side = cell.models.length > 1;
    let video: PreparedVideo | undefined;
    let prepared: Promise<PreparedModel>[] | undefined;
    try {
      checkCell(cell);
      const notes: string[] = [];
      const refs = cell.models.length ? cell.models : [this.chooseModel(cell, s, notes)];
      if (notes.length) result.notes = notes;
      if (cell.videos?.length) {
        // What the engine knows of a lone model is checked first; then a bad clip (or no ffmpeg) is said before a model is downloaded.
        if (!side) this.checkKnown(refs[0]!, cell.task);
        await probeVideoCell(cell, s, ctx);
        // How many frames to sample depends on the models (their image budgets), so they are prepared first.
        const c = cell;
        prepared = refs.map((ref) =>
          this.prepareModel(ref, c, ctx).then((m) => {
            checkVideoModel(c, m.handle);
            return m;
          }),
        );
        const ready = await Promise.allSettled(prepared);
        const usable = ready.flatMap((r) => (r.status === 'fulfilled' ? [r.value.handle] : []));
        if (!usable.length) {
          // Nothing can run on the clip: say why before anything is decoded.
          const reasons = ready.map((r) => describeError((r as PromiseRejectedResult).reason));
          if (!side) throw (ready[0] as PromiseRejectedResult).reason;
          throw new LoupeError(reasons[0]!.code, reasons.map((r, m) => `${refs[m]}: ${r.message}`).join('\n'));
        }
        // The clip's sampled frames become the cell's images, each with its time; side by side, every model sees the same frames.
        video = await prepareVideoPrompt(cell, usable, s, ctx, result.warnings);
        cell = video.cell;
      }

      loaded = video ? video.loaded : await Promise.all(cell.images.map((img) => loadImage(img.source, { baseDir: ctx.baseDir, maxPixels: s.maxImagePixels, signal: ctx.signal, offline: s.offline })));
      result.images = toResultImages(loaded);
      video?.decorate(result);
      const bad = loaded.filter((r) => !r.ok);
      if (bad.length) throw new LoupeError('bad-image', bad.map((b) => (b.ok ? '' : b.error)).join('\n'));
      const regions = checkRegions(cell, result.images, result.warnings);
      const inputs = loaded.map((r): EngineImage => {
        const img = (r as Extract<ImageResult, { ok: true }>).image;
        return img.path ? { source: img.source, path: img.path } : { source: img.source, bytes: img.bytes! };
      });

      const stream = this.streamer(result, ctx);
      ctx.generating?.(true);
      const shared = { cell: { ...cell, regions }, ctx, s, result, inputs, stream, now, ...(video ? { video } : {}), ...(prepared ? { prepared } : {}) };
      if (!side) await this.runModel(refs[0]!, undefined, shared);
      else {
        // Side by side: the models run at once, and one that fails shows its error in its own column.
        await Promise.all(
          refs.map((ref, m) =>
            this.runModel(ref, m, shared).catch((e: unknown) => {
              const err = describeError(e);
              const current = result.runs.find((r) => r.modelIndex === m && r.status === 'running');
              if (current) Object.assign(current, { status: 'error', error: err.message });
              else result.runs.push({ images: cell.images.map((_, i) => i + 1), modelIndex: m, model: { id: ref }, status: 'error', answer: '', regions: [], warnings: [], stats: {}, error: `${err.title}: ${err.message}` });
            }),
          ),
        );
      }
      ctx.generating?.(false);
      await stream.flushed();
      // Models side by side finish in any order: the result lists them in the cell's order.
      if (side) result.runs.sort((a, b) => (a.modelIndex ?? 0) - (b.modelIndex ?? 0));
      result.timings.generateMs = round(result.runs.reduce((a, r) => a + (r.stats.totalMs ?? 0), 0));
      result.timings.totalMs = round(now() - t0);
      const failed = result.runs.some((r) => r.status === 'error');
      result.status = ctx.signal.aborted || failed ? 'error' : 'ok';
      if (ctx.signal.aborted) result.error = 'Interrupted.';
      await ctx.replaceOutputs([await finalOutput(result, loaded)]);
      return !ctx.signal.aborted && !failed;
    } catch (e) {
      ctx.generating?.(false);
      const err = describeError(e);
      result.status = 'error';
      for (const r of result.runs) if (r.status === 'running') Object.assign(r, { status: 'error', error: err.message });
      result.timings.totalMs = round(now() - t0);
      // Unreadable images already say why, each under its own image: one message, not three.
      if (err.code === 'bad-image' && result.images.some((i) => i.error)) {
        await ctx.replaceOutputs([await finalOutput(result, loaded)]);
        return false;
      }
      result.error = err.message;
      const outputs: OutputSpec[] = [errorOutput(err.title, err.message)];
      if (result.images.length || result.runs.some((r) => r.answer)) outputs.push(await finalOutput(result, loaded));
      await ctx.replaceOutputs(outputs);
      return false;
    }
  }

  private runBatch(cell: ParsedCell, ctx: PromptContext): Promise<boolean> {
    return runBatch(cell, ctx, {
      chooseModel: (c, notes) => this.chooseModel(c, this.deps.settings(), notes),
      prepare: (ref) => this.prepareModel(ref, cell, ctx),
      ...(this.deps.onLoaded ? { onLoaded: (m: LoadedModel) => this.deps.onLoaded!(m) } : {}),
      settings: () => {
        const s = this.deps.settings();
        return { maxImageTokens: s.maxImageTokens, maxImagePixels: s.maxImagePixels, batchMaxImages: s.batchMaxImages ?? DEFAULTS.batchMaxImages, batchLimitHint: s.batchLimitHint ?? 'loupe.batchMaxImages' };
      },
      ...(this.deps.now ? { now: this.deps.now } : {}),
      ...(this.deps.streamIntervalMs !== undefined ? { updateIntervalMs: this.deps.streamIntervalMs } : {}),
    });
  }

  /** What the engine knows without a download is checked first: refuse before fetching gigabytes. */
  private checkKnown(ref0: string, task: Task): ReturnType<EngineSet['pick']> {
    const picked = this.deps.engines.pick(ref0);
    const known = picked.engine.describe(picked.ref);
    if (known) checkTask(known.id, known.capabilities, task);
    return picked;
  }

  /** A model checked against the task and prepared (downloaded): what the engine knows without a download is checked first. */
  private async prepareModel(ref0: string, cell: ParsedCell, ctx: PromptContext): Promise<PreparedModel> {
    const { engine, ref } = this.checkKnown(ref0, cell.task);
    const handle = await this.deps.withProgress(`Loupe: preparing ${ref0}`, (onProgress, signal) => engine.prepare(ref, { baseDir: ctx.baseDir, signal: AbortSignal.any([signal, ctx.signal]), onProgress }));
    checkTask(handle.info.id, handle.capabilities, cell.task);
    return { engine, handle };
  }

  /**
   * One model over the cell: checked, prepared (downloaded), loaded, and run once per planned run. A cell about a
   * video has its models prepared before its frames are sampled (`prepared`, by model) and its frames as its images.
   */
  private async runModel(
    ref0: string,
    modelIndex: number | undefined,
    x: { cell: ParsedCell; ctx: PromptContext; s: RunnerSettings; result: LoupeResult; inputs: EngineImage[]; stream: { push(): void }; now: () => number; video?: PreparedVideo; prepared?: Promise<PreparedModel>[] },
  ): Promise<void> {
    const { cell, ctx, s, result } = x;
    const { engine, handle } = await (x.prepared?.[modelIndex ?? 0] ?? this.prepareModel(ref0, cell, ctx));
    if (cell.images.length === 0 && handle.needsImage) throw new LoupeError('bad-input', `${handle.info.id} needs an image: add an @image line.`);
    const warnings: string[] = [];
    if (cell.prompt.trim() && !usesPrompt(handle.dialect, cell.task)) {
      warnings.push(`${handle.info.id} runs @task ${cell.task} with an instruction of its own: the prompt ("${cell.prompt.trim().slice(0, 60)}") was not used. Use @task ask to ask in your own words.`);
    }
    const plan = planRuns(cell, handle.capabilities.includes('multi-image'), handle.info.id);
    const tLoad = x.now();
    const model = await engine.load(handle, { signal: ctx.signal });
    this.deps.onLoaded?.(model);
    const info: ModelInfo = { ...handle.info, provider: model.provider, ...(model.dtype ? { dtype: model.dtype } : {}), ...(model.fallbacks.length ? { fallbacks: model.fallbacks } : {}) };
    result.timings.loadMs = Math.max(result.timings.loadMs ?? 0, round(x.now() - tLoad));
    // One model's note on its prompt: the cell's warnings when it runs alone, its runs' when side by side.
    if (modelIndex === undefined) result.warnings.push(...warnings);
    const ocr = {};
    for (const p of plan) {
      if (ctx.signal.aborted) break;
      const run: Run = { images: p.images, ...(modelIndex !== undefined ? { modelIndex } : {}), model: info, status: 'running', answer: '', regions: [], warnings: modelIndex !== undefined ? [...warnings] : [], stats: {} };
      result.runs.push(run);
      // Frames of a clip asked about together: the model's prompt gets their times and the clip's length.
      const video = x.video?.request(p.images, cell.task);
      const req: GenerateRequest = { task: cell.task, prompt: cell.prompt, images: p.images.map((i) => x.inputs[i - 1]!), regions: p.regions, params: cell.params, maxImageTokens: s.maxImageTokens, maxImagePixels: s.maxImagePixels, ...(video ? { video } : {}) };
      const streamOpts = {
        signal: ctx.signal,
        onDelta: (text: string) => {
          run.answer += text;
          x.stream.push();
        },
      };
      // Side by side, what one model's run notices is that run's: its column shows it; alone, the cell's.
      const runWarnings = modelIndex !== undefined ? run.warnings : result.warnings;
      const note = (n: string) => (result.notes ??= []).push(modelIndex !== undefined ? `${handle.info.id}: ${n}` : n);
      // Sub-images (`@set tiles`): each part run on its own, boxes mapped back and merged (tiles.ts).
      const size = result.images[p.images[0]! - 1]!;
      const tiling = tilingFor(cell.task, cell.params.tiles, handle, size, p.images.length, runWarnings);
      if (tiling) note(describeTiling(tiling, p.images[0]!, cell.params.tiles));
      const tiled = tiling ? await generateTiled(engine, model, handle.dialect, req, tiling, size, streamOpts) : undefined;
      const gen = tiled ?? (await engine.generate(model, req, streamOpts));
      // The final text replaces the streamed one: markup such as <loc_N> becomes regions.
      const parsed: Parsed = tiled ? tiled.parsed : parseGeneration(handle.dialect, cell.task, gen);
      // Screens: a detector's elements get their text from the OCR model; a tappable or widget answer is drawn on its region.
      await screenRegions(cell.task, handle, parsed, req, { engines: this.deps.engines, settings: s, baseDir: ctx.baseDir, signal: ctx.signal, note, ocr });
      Object.assign(run, {
        status: 'ok',
        answer: parsed.text,
        raw: gen.raw,
        regions: parsed.regions.map((r) => ({ ...r, image: p.images[r.image - 1] ?? p.images[0]! })),
        warnings: [...run.warnings, ...parsed.warnings, ...(gen.warnings ?? []), ...(gen.interrupted && !gen.warnings?.length ? ['Interrupted: the answer is incomplete.'] : [])],
        stats: Object.fromEntries(Object.entries(gen.stats).map(([k, v]) => [k, round(v)])),
        seed: gen.seed,
      } satisfies Partial<Run>);
      // What the model saw of each image (a server may see another size than the local host): the first model's.
      gen.images.forEach((seen, i) => {
        const target = result.images[(p.images[i] ?? 1) - 1];
        if (target && (modelIndex === undefined || modelIndex === 0)) Object.assign(target, { modelWidth: seen.modelWidth, modelHeight: seen.modelHeight });
      });
      result.params.seed = gen.seed;
    }
  }

  /** Streaming updates at most every STREAM_INTERVAL_MS, each serialized when made and sent in order. */
  private streamer(result: LoupeResult, ctx: PromptContext) {
    const now = this.deps.now ?? Date.now;
    const interval = this.deps.streamIntervalMs ?? STREAM_INTERVAL_MS;
    let last = -Infinity;
    let first = true;
    let pushing: Promise<void> = Promise.resolve();
    const push = (force = false) => {
      const t = now();
      if (!force && t - last < interval) return;
      last = t;
      const update = streamingOutput(result, first);
      first = false;
      pushing = pushing.then(() => ctx.replaceOutputs([update])).catch(() => undefined);
    };
    push(true);
    return { push: () => push(), flushed: () => pushing };
  }
}

/**
 * While streaming: the result JSON and its text, no PNG composite; after the first update the images' bytes are
 * left out (the renderer keeps the ones it shows), so each update is the answer so far and little else.
 */
function streamingOutput(result: LoupeResult, withImages: boolean): OutputSpec {
  const images = withImages ? result.images : result.images.map((i) => (i.display ? { ...i, display: { ...i.display, data: '' } } : i));
  return { items: [jsonItem(RESULT_MIME, { ...result, images }), textItem(result.runs.map((r) => r.answer).join('\n\n'))] };
}

async function finalOutput(result: LoupeResult, loaded: ImageResult[]): Promise<OutputSpec> {
  const refs = allRegions(result);
  const burn = (png: Buffer, image: number, width: number) => {
    const mine = refs.filter((x) => x.region.image === image);
    return burnRegions(png, mine.map((x) => x.region), width, mine.map((x) => regionColor(result, x.run, x.region)));
  };
  const pngs = await Promise.all(loaded.flatMap((r, i) => (r.ok ? [burn(r.image.displayPng, i + 1, r.image.width)] : [])));
  const out = await resultOutput(result, pngs);
  out.metadata = {
    loupe: {
      models: [...new Map(result.runs.flatMap((r) => (r.model ? [[r.model.id, r.model] as const] : []))).values()],
      task: result.task,
      params: result.params,
      timings: result.timings,
      modelInput: result.images.map((i) => ({ image: i.index, width: i.modelWidth, height: i.modelHeight })),
    },
  };
  return out;
}
