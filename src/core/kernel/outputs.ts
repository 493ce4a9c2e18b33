// Builds cell outputs: Loupe's JSON result plus an image/png and text/plain fallback for any viewer.
import { RESULT_MIME, RESULT_VERSION, type LoupeResult, type ResultImage } from '../../common/result';
import type { ImageResult } from '../../images/load';
import { loadSharp } from '../../images/sharp';

export interface OutputItemSpec {
  mime: string;
  data: Uint8Array;
}

export interface OutputSpec {
  items: OutputItemSpec[];
  metadata?: Record<string, unknown>;
}

export const ERROR_MIME = 'application/vnd.code.notebook.error';
const FALLBACK_MAX_SIDE = 800;
const GAP = 8;

export function jsonItem(mime: string, value: unknown): OutputItemSpec {
  return { mime, data: new TextEncoder().encode(JSON.stringify(value)) };
}

export function textItem(text: string, mime = 'text/plain'): OutputItemSpec {
  return { mime, data: new TextEncoder().encode(text) };
}

/** The error output VS Code shows with its own styling. */
export function errorOutput(name: string, message: string): OutputSpec {
  return { items: [jsonItem(ERROR_MIME, { name, message, stack: '' })] };
}

export function toResultImages(results: ImageResult[]): ResultImage[] {
  return results.map((r, i) =>
    r.ok
      ? {
          index: i + 1,
          source: r.image.source,
          width: r.image.width,
          height: r.image.height,
          format: r.image.format,
          display: r.image.display,
          ...(r.image.notes.length ? { notes: r.image.notes } : {}),
        }
      : { index: i + 1, source: r.source, width: 0, height: 0, error: r.error },
  );
}

export function altText(result: LoupeResult): string {
  const lines: string[] = [];
  for (const img of result.images) {
    lines.push(
      img.error
        ? `Image ${img.index}: ${img.source} — ${img.error}`
        : `Image ${img.index}: ${img.source} (${img.width}×${img.height}${img.format ? ', ' + img.format.toUpperCase() : ''})${img.notes?.length ? ' — ' + img.notes.join('; ') : ''}`,
    );
  }
  if (result.answer) lines.push('', result.answer);
  for (const r of result.regions) lines.push(`${r.label || r.kind} [${r.coords.map((c) => Math.round(c)).join(', ')}] (image ${r.image})`);
  for (const w of result.warnings) lines.push(`Warning: ${w}`);
  if (result.error) lines.push(`Error: ${result.error}`);
  return lines.join('\n');
}

/** All readable images side by side, each fitted into 800×800: the fallback for viewers without Loupe's renderer. */
export async function compositePng(pngs: Buffer[]): Promise<Buffer | undefined> {
  if (pngs.length === 0) return undefined;
  const sharp = await loadSharp();
  const tiles = await Promise.all(
    pngs.map((p) => sharp(p).resize({ width: FALLBACK_MAX_SIDE, height: FALLBACK_MAX_SIDE, fit: 'inside', withoutEnlargement: true }).png().toBuffer({ resolveWithObject: true })),
  );
  // A palette PNG is a quarter the size of a full-colour one: this is a preview, and every byte is saved in the notebook.
  if (tiles.length === 1) return sharp(tiles[0]!.data).png({ palette: true, quality: 90, effort: 4 }).toBuffer();
  const width = tiles.reduce((s, t) => s + t.info.width, 0) + GAP * (tiles.length - 1);
  const height = Math.max(...tiles.map((t) => t.info.height));
  let left = 0;
  const layers = tiles.map((t) => {
    const layer = { input: t.data, left, top: 0 };
    left += t.info.width + GAP;
    return layer;
  });
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite(layers)
    .png({ palette: true, quality: 90, effort: 4 })
    .toBuffer();
}

export async function imageCellOutput(results: ImageResult[], timings: Record<string, number>): Promise<OutputSpec> {
  const result: LoupeResult = {
    version: RESULT_VERSION,
    kind: 'images',
    status: results.every((r) => r.ok) ? 'ok' : 'error',
    task: 'ask',
    images: toResultImages(results),
    answer: '',
    regions: [],
    params: {},
    timings,
    warnings: [],
  };
  return resultOutput(result, results.flatMap((r) => (r.ok ? [r.image.displayPng] : [])));
}

export async function resultOutput(result: LoupeResult, pngs: Buffer[]): Promise<OutputSpec> {
  const items: OutputItemSpec[] = [jsonItem(RESULT_MIME, result)];
  const png = await compositePng(pngs);
  if (png) items.push({ mime: 'image/png', data: png });
  items.push(textItem(altText(result)));
  return { items, metadata: { loupe: { timings: result.timings } } };
}
