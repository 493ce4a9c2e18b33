// Runs prompt cells on the local engine: resolves the model, checks the task, streams the answer.
// Plain TypeScript shared by the VS Code kernel and the CLI.
import type { Device, Dtype, GenerateResult, GenerationParams, ImageInput, LoadedInfo, RegionInput } from '../../engine/local/protocol';
import { RESULT_MIME, RESULT_VERSION, type LoupeResult, type Region, type Task } from '../../common/result';
import { EngineError, type HostClient } from '../../engine/local/client';
import type { DownloadProgress } from '../../engine/local/download/hub';
import { findEntry, modelsFor } from '../../engine/registry';
import { resolveModel, type CustomModel, type ResolvedModel } from '../../engine/local/resolve';
import type { ParsedCell } from '../cells/parser';
import { loadImage, type ImageResult } from '../../images/load';
import { burnRegions } from '../../images/burn';
import type { PromptContext, PromptRunner } from './kernel';
import { errorOutput, jsonItem, resultOutput, textItem, toResultImages, type OutputSpec } from './outputs';

export interface EngineSettings {
  defaultModel: string;
  device: Device;
  dtype: 'auto' | Dtype;
  allowDownloads: boolean;
  endpoint: string;
  token?: string;
  maxImageTokens: number;
  maxImagePixels: number;
  /** Where downloaded models live. */
  modelsDir: string;
  customModels?: CustomModel[];
}

export interface EngineDeps {
  client: HostClient;
  settings(): EngineSettings;
  /** Runs a download with visible progress (a notification, or stderr for the CLI). */
  withDownload<T>(label: string, fn: (onProgress: (p: DownloadProgress) => void, signal: AbortSignal) => Promise<T>): Promise<T>;
  onLoaded?(info: LoadedInfo, model: ResolvedModel): void;
  now?: () => number;
}

// Each update is serialized by VS Code in the extension host: a few per second read as live without costing it.
const STREAM_INTERVAL_MS = 150;
const PER_IMAGE: readonly Task[] = ['caption', 'detailed-caption', 'ocr', 'ocr-regions', 'detect', 'ground'];

interface Run {
  images: number[];
  regions: RegionInput[];
}

/** Which images each model run gets: fan-out for per-image tasks, one run for questions across images. */
export function planRuns(cell: ParsedCell, multiImage: boolean, modelId: string): Run[] {
  const all = cell.images.map((_, i) => i + 1);
  const regions = cell.regions.map((r) => ({ image: r.image, box: r.box }));
  if (cell.task === 'describe-region' || (cell.regions.length > 0 && cell.task === 'ask')) {
    const img = regions[0]?.image ?? 1;
    if (cell.task === 'ask' && all.length > 1 && multiImage) return [{ images: all, regions }];
    return [{ images: [img], regions: regions.filter((r) => r.image === img).map((r) => ({ ...r, image: 1 })) }];
  }
  if (PER_IMAGE.includes(cell.task) && all.length > 1) return all.map((i) => ({ images: [i], regions: [] }));
  if (all.length > 1 && !multiImage) {
    throw new EngineError('task-unsupported', `${modelId} reads one image at a time and cannot answer a question across ${all.length} images. Models that can: ${modelsFor('multi-image').join(', ')}.`);
  }
  return [{ images: all, regions }];
}

export class EnginePromptRunner implements PromptRunner {
  constructor(private readonly deps: EngineDeps) {}

  async run(cell: ParsedCell, ctx: PromptContext): Promise<boolean> {
    const now = this.deps.now ?? Date.now;
    const t0 = now();
    const s = this.deps.settings();
    const result: LoupeResult = {
      version: RESULT_VERSION,
      kind: 'prompt',
      status: 'running',
      task: cell.task,
      images: [],
      prompt: cell.prompt,
      answer: '',
      regions: [],
      params: { ...cell.params },
      timings: {},
      warnings: [],
    };
    let loaded: ImageResult[] = [];
    try {
      const ref = cell.model ?? s.defaultModel;
      // Registry models say what they can do: refuse before downloading anything.
      const entry = findEntry(ref);
      if (entry) checkTask(entry.id, entry.capabilities, cell.task);
      const model = await this.deps.withDownload(`Loupe: preparing ${ref}`, (onProgress, signal) =>
        resolveModel(ref, {
          baseDir: ctx.baseDir,
          modelsDir: s.modelsDir,
          allowDownloads: s.allowDownloads,
          endpoint: s.endpoint,
          token: s.token,
          dtype: s.dtype,
          customModels: s.customModels,
          signal: AbortSignal.any([signal, ctx.signal]),
          onProgress,
        }),
      );
      result.model = { ...model.info };
      checkTask(model.info.id, model.capabilities, cell.task);
      if (cell.images.length === 0 && model.family === 'florence2') throw new EngineError('task-unsupported', `${model.info.id} needs an image: add an @image line.`);
      const runs = planRuns(cell, model.capabilities.includes('multi-image'), model.info.id);

      loaded = await Promise.all(cell.images.map((img) => loadImage(img.source, { baseDir: ctx.baseDir, maxPixels: s.maxImagePixels, signal: ctx.signal })));
      result.images = toResultImages(loaded);
      const bad = loaded.filter((r) => !r.ok);
      if (bad.length) throw new EngineError('bad-input', bad.map((b) => (b.ok ? '' : b.error)).join('\n'));
      // The model host reads files itself; downloaded images go as the bytes loadImage already fetched.
      const inputs = loaded.map((r): ImageInput => {
        const img = (r as Extract<ImageResult, { ok: true }>).image;
        return img.path ? { source: img.source, path: img.path } : { source: img.source, data: img.bytes!.toString('base64') };
      });

      const tLoad = now();
      const info = await this.deps.client.load({ key: `${model.key}|${s.device}|${s.dtype}`, folder: model.folder, family: model.family, dialect: model.dialect, device: s.device, dtype: s.dtype, info: model.info });
      this.deps.onLoaded?.(info, model);
      result.model = { ...model.info, provider: info.provider, dtype: info.dtype, ...(info.fallbacks.length ? { fallbacks: info.fallbacks } : {}) };
      result.timings.loadMs = round(now() - tLoad);

      const answers: { image: number; text: string }[] = [];
      const stats: GenerateResult['stats'][] = [];
      let lastPush = 0;
      let pushing: Promise<void> = Promise.resolve();
      const push = (force = false) => {
        const t = now();
        if (!force && t - lastPush < STREAM_INTERVAL_MS) return;
        lastPush = t;
        // Serialized now, so later deltas do not change what this update shows.
        const update = streamingOutput(result, force);
        pushing = pushing.then(() => ctx.replaceOutputs([update])).catch(() => undefined);
      };
      push(true);
      ctx.generating?.(true);
      for (const run of runs) {
        if (ctx.signal.aborted) break;
        const prefix = runs.length > 1 ? `${result.answer ? '\n\n' : ''}Image ${run.images[0]}: ` : '';
        const before = result.answer + prefix;
        result.answer = before;
        const gen = await this.deps.client.generate(
          {
            key: info.key,
            task: cell.task,
            prompt: cell.prompt,
            images: run.images.map((i) => inputs[i - 1]!),
            regions: run.regions,
            params: cell.params as GenerationParams,
            maxImageTokens: s.maxImageTokens,
            maxImagePixels: s.maxImagePixels,
          },
          {
            signal: ctx.signal,
            onDelta: (text) => {
              result.answer += text;
              push();
            },
          },
        );
        // The final text replaces the streamed one: markup such as <loc_N> becomes regions.
        result.answer = before + gen.text;
        result.raw = (result.raw ? result.raw + '\n\n' : '') + gen.raw;
        const offset = before.length;
        result.regions.push(...gen.regions.map((r): Region => ({ ...r, image: run.images[r.image - 1] ?? run.images[0]!, ...(r.span ? { span: [r.span[0] + offset, r.span[1] + offset] as [number, number] } : {}) })));
        result.warnings.push(...gen.warnings);
        gen.images.forEach((seen, i) => {
          const target = result.images[(run.images[i] ?? 1) - 1];
          if (target) Object.assign(target, { modelWidth: seen.modelWidth, modelHeight: seen.modelHeight });
        });
        if (runs.length > 1) answers.push({ image: run.images[0]!, text: gen.text });
        stats.push(gen.stats);
        result.params.seed = gen.seed;
        if (gen.interrupted) result.warnings.push('Interrupted: the answer is incomplete.');
      }
      ctx.generating?.(false);
      await pushing;
      if (answers.length) result.answers = answers;
      const sum = (k: keyof GenerateResult['stats']) => round(stats.reduce((a, x) => a + (x[k] ?? 0), 0));
      Object.assign(result.timings, {
        preprocessMs: sum('preprocessMs'),
        imageEncodeMs: sum('imageEncodeMs'),
        timeToFirstTokenMs: round(stats[0]?.timeToFirstTokenMs ?? 0),
        generateMs: sum('totalMs'),
        promptTokens: sum('promptTokens'),
        generatedTokens: sum('generatedTokens'),
        tokensPerSecond: round(stats.reduce((a, x) => a + x.tokensPerSecond, 0) / Math.max(1, stats.length)),
        totalMs: round(now() - t0),
      });
      result.status = ctx.signal.aborted ? 'error' : 'ok';
      if (ctx.signal.aborted) result.error = 'Interrupted.';
      await ctx.replaceOutputs([await finalOutput(result, loaded)]);
      return !ctx.signal.aborted;
    } catch (e) {
      ctx.generating?.(false);
      const err = e as Error & { code?: string };
      result.status = 'error';
      result.timings.totalMs = round(now() - t0);
      // Unreadable images already say why, each under its own image: one message, not three.
      if (result.images.some((i) => i.error)) {
        await ctx.replaceOutputs([await finalOutput(result, loaded)]);
        return false;
      }
      result.error = err.message;
      const outputs: OutputSpec[] = [errorOutput(errorTitle(err), err.message)];
      if (result.images.length || result.answer) outputs.push(await finalOutput(result, loaded));
      await ctx.replaceOutputs(outputs);
      return false;
    }
  }

}

function checkTask(id: string, capabilities: readonly string[], task: Task): void {
  if (capabilities.includes(task)) return;
  const can = modelsFor(task);
  throw new EngineError('task-unsupported', `${id} cannot run @task ${task}.${can.length ? ` Models that can: ${can.join(', ')}.` : ''}`);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function errorTitle(e: Error & { code?: string }): string {
  switch (e.code) {
    case 'host-crashed':
      return 'Model host stopped';
    case 'cancelled':
      return 'Interrupted';
    case 'offline':
    case 'network':
      return 'Model not available offline';
    case 'unknown-model':
      return 'Unknown model';
    case 'task-unsupported':
      return 'Task not supported by this model';
    case 'bad-input':
      return 'Bad input';
    default:
      return 'Model error';
  }
}

/**
 * While streaming: the result JSON and its text, no PNG composite; after the first update the images' bytes are
 * left out (the renderer keeps the ones it shows), so each update is the answer so far and little else.
 */
function streamingOutput(result: LoupeResult, withImages: boolean): OutputSpec {
  const images = withImages ? result.images : result.images.map((i) => (i.display ? { ...i, display: { ...i.display, data: '' } } : i));
  return { items: [jsonItem(RESULT_MIME, { ...result, images }), textItem(result.answer)] };
}

async function finalOutput(result: LoupeResult, loaded: ImageResult[]): Promise<OutputSpec> {
  const pngs = await Promise.all(
    loaded.flatMap((r, i) => (r.ok ? [burnRegions(r.image.displayPng, result.regions.filter((g) => g.image === i + 1), r.image.width)] : [])),
  );
  const out = await resultOutput(result, pngs);
  out.metadata = {
    loupe: {
      model: result.model,
      task: result.task,
      params: result.params,
      timings: result.timings,
      modelInput: result.images.map((i) => ({ image: i.index, width: i.modelWidth, height: i.modelHeight })),
    },
  };
  return out;
}

