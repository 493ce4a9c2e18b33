// Runs one image as sub-images (`@set tiles`, images/tiles.ts) on any engine: each part is cropped with sharp and
// run as an image of its own, its answer parsed with the model's dialect, its regions moved to original pixels, and
// the parts merged (seams joined, the overview's boxes kept where the parts found nothing).
import { readFile } from 'node:fs/promises';
import type { Region } from '../../common/result';
import { taskSpec, type Task } from '../../common/tasks';
import { parseGeneration, type Dialect, type Parsed } from '../../engine/dialects';
import type { Engine, EngineImage, GenerateOptions, GenerateRequest, Generation, LoadedModel, ModelHandle } from '../../engine/types';
import { cropTiles, mergeTiled, planTiles, regionToOriginal, type TilePlan } from '../../images/tiles';

/** Tasks whose answer is a set of regions over the whole image: the ones a split image can answer part by part. */
export const TILED_TASKS: readonly Task[] = ['ocr-regions', 'detect', 'list-elements'];

/** The split for one run of one image, or undefined (whole image); says in `warnings` why a `tiles=` was not used. */
export function tilingFor(task: Task, tiles: number | undefined, handle: ModelHandle, size: { width: number; height: number }, imagesInRun: number, warnings: string[]): TilePlan | undefined {
  const asked = tiles ?? -1;
  if (asked === 0 || imagesInRun !== 1 || !(size.width > 0 && size.height > 0)) return undefined;
  if (!TILED_TASKS.includes(task)) {
    if (asked > 0) warnings.push(`@set tiles=${asked} was not used: sub-images apply to @task ${TILED_TASKS.join(', ')}, whose answers are regions over the whole image.`);
    return undefined;
  }
  // Models with native dynamic resolution see the whole image already: auto is off for them.
  if (asked < 0 && handle.fixedInput === undefined) return undefined;
  // A screen's element list splits like Ferret-UI (two halves); the other tiled tasks like MM1.5 pages (a grid).
  return planTiles(size.width, size.height, { tiles: asked, screen: task === 'list-elements', input: handle.fixedInput });
}

/** In words, for the result's notes (and B10). */
export function describeTiling(plan: TilePlan, image: number, tiles: number | undefined): string {
  const parts = plan.tiles.length - 1;
  const how = plan.kind === 'screen' ? `the whole screen plus two halves (${plan.rows === 2 ? 'top and bottom' : 'left and right'})` : `a ${plan.rows} × ${plan.cols} grid (${parts} sub-images of ${Math.round(plan.side)} px) plus the overview`;
  return `Image ${image} ran as ${how} (tiles=${tiles === undefined || tiles < 0 ? 'auto' : tiles}); boxes are mapped back to the image and joined across seams.`;
}

async function bytesOf(img: EngineImage): Promise<Buffer> {
  return img.bytes ? Buffer.from(img.bytes) : readFile(img.path!);
}

/**
 * Runs every part (the overview last) and merges them. The Generation's raw answer lists each part's raw answer
 * under a header naming its place; stats add up (time to first token is the first part's).
 */
export async function generateTiled(
  engine: Engine,
  model: LoadedModel,
  dialect: Dialect,
  req: GenerateRequest,
  plan: TilePlan,
  size: { width: number; height: number },
  opts: GenerateOptions,
): Promise<Generation & { parsed: Parsed }> {
  const image = req.images[0]!;
  const crops = await cropTiles(await bytesOf(image), plan.tiles.slice(0, -1), req.maxImagePixels);
  const parts: { tile: TilePlan['tiles'][number]; regions: Region[] }[] = [];
  const raws: string[] = [];
  const warnings = new Set<string>();
  // What the engine noticed about a part (a stream cut short, an answer cut at max_new_tokens), said once.
  const engineWarnings = new Set<string>();
  let last: Generation | undefined;
  const stats = { preprocessMs: 0, imageEncodeMs: 0, timeToFirstTokenMs: 0, totalMs: 0, promptTokens: 0, generatedTokens: 0, tokensPerSecond: 0 };
  for (const [k, tile] of plan.tiles.entries()) {
    if (opts.signal?.aborted) break;
    const isOverview = tile.row < 0;
    const part: EngineImage = isOverview ? image : { source: `${image.source} (part ${k + 1}: ${tile.x},${tile.y} ${tile.width}×${tile.height})`, bytes: crops[k]! };
    const gen = await engine.generate(model, { ...req, images: [part] }, { signal: opts.signal });
    const parsed = parseGeneration(dialect, req.task, gen);
    parsed.warnings.forEach((w) => warnings.add(w));
    gen.warnings?.forEach((w) => engineWarnings.add(w));
    parts.push({ tile, regions: parsed.regions.flatMap((r) => regionToOriginal(r, tile, size.width, size.height) ?? []) });
    raws.push(`--- ${isOverview ? 'overview' : `part ${k + 1} (row ${tile.row + 1}, column ${tile.col + 1}; x ${tile.x}, y ${tile.y}, ${tile.width}×${tile.height})`} ---\n${gen.raw}`);
    if (k === 0) stats.timeToFirstTokenMs = gen.stats.timeToFirstTokenMs;
    for (const key of ['preprocessMs', 'imageEncodeMs', 'totalMs', 'promptTokens', 'generatedTokens'] as const) stats[key] += gen.stats[key];
    last = gen;
    opts.onDelta?.(parsed.text ? `${parsed.text}\n` : '');
  }
  const regions = mergeTiled(parts);
  const parsed = { ...textOf(req.task, regions), warnings: [...warnings] };
  return {
    raw: raws.join('\n'),
    interrupted: last?.interrupted === true || opts.signal?.aborted === true,
    images: last?.images ?? [{ ...size, modelWidth: 0, modelHeight: 0 }],
    stats: { ...stats, tokensPerSecond: stats.generatedTokens && stats.totalMs ? (stats.generatedTokens * 1000) / stats.totalMs : 0 },
    seed: last?.seed ?? 0,
    ...(engineWarnings.size ? { warnings: [...engineWarnings] } : {}),
    parsed,
  };
}

/** The merged answer: each region's text (or its type) in reading order, one per line for text, with its span. */
function textOf(task: Task, regions: Region[]): { text: string; regions: Region[] } {
  const sep = task === 'detect' ? ', ' : '\n';
  const ordered = [...regions].sort((a, b) => a.coords[1]! - b.coords[1]! || a.coords[0]! - b.coords[0]!);
  let text = '';
  const out = ordered.map((r) => {
    const label = r.label || r.type || (taskSpec(task).regions === 'answer' ? r.kind : '');
    if (text) text += sep;
    const span: [number, number] = [text.length, text.length + label.length];
    text += label;
    return { ...r, span };
  });
  return { text, regions: out };
}
