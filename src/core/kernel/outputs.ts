// Builds cell outputs: Loupe's JSON result plus an image (PNG, or JPEG for photos) and text/plain fallback for any viewer.
import { ERROR_MIME, RESULT_MIME, RESULT_VERSION, allRegions, type LoupeResult, type ResultImage } from '../../common/result';
import { clipFacts, formatTime } from '../../common/video';
import { runHeading, runText } from '../export/common';
import { compositeFallback } from '../../images/composite';
import { contactSheet } from '../../images/contact';
import type { ImageResult } from '../../images/load';

export interface OutputItemSpec {
  mime: string;
  data: Uint8Array;
}

export interface OutputSpec {
  items: OutputItemSpec[];
  metadata?: Record<string, unknown>;
}

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
  for (const v of result.videos ?? []) lines.push(`Video ${v.index}: ${clipFacts(v)}`);
  for (const img of result.images) {
    lines.push(
      img.error
        ? `Image ${img.index}: ${img.source} — ${img.error}`
        : img.time !== undefined
          ? `Frame ${img.index} at ${formatTime(img.time)} (${img.width}×${img.height})`
        : `Image ${img.index}: ${img.source} (${img.width}×${img.height}${img.format ? ', ' + img.format.toUpperCase() : ''})${img.notes?.length ? ' — ' + img.notes.join('; ') : ''}`,
    );
  }
  const answered = result.runs.filter((r) => runText(r));
  if (answered.length) lines.push('');
  for (const run of answered) {
    // Several runs: each is headed by its frame's time, its images or (side by side) its model.
    const head = runHeading(result, run);
    const t = runText(run)!;
    lines.push(`${head ? `${head}: ` : ''}${t.error ? 'Error: ' : ''}${t.text}`);
  }
  for (const { region: r } of allRegions(result)) lines.push(`${r.label || r.kind} [${r.coords.map((c) => Math.round(c)).join(', ')}] (image ${r.image})`);
  for (const n of result.notes ?? []) lines.push(n);
  for (const w of new Set([...result.warnings, ...result.runs.flatMap((r) => r.warnings)])) lines.push(`Warning: ${w}`);
  if (result.error) lines.push(`Error: ${result.error}`);
  return lines.join('\n');
}

export async function imageCellOutput(results: ImageResult[], timings: Record<string, number>): Promise<OutputSpec> {
  const result: LoupeResult = {
    version: RESULT_VERSION,
    kind: 'images',
    status: results.every((r) => r.ok) ? 'ok' : 'error',
    task: 'ask',
    images: toResultImages(results),
    runs: [],
    params: {},
    timings,
    warnings: [],
  };
  return resultOutput(result, results.flatMap((r) => (r.ok ? [r.image.displayPng] : [])));
}

export async function resultOutput(result: LoupeResult, pngs: Buffer[]): Promise<OutputSpec> {
  const items: OutputItemSpec[] = [jsonItem(RESULT_MIME, result)];
  if (result.videos?.length) {
    // A clip's frames read as a contact sheet with their times.
    const shown = result.images.filter((i) => !i.error);
    const png = await contactSheet(pngs.map((p, i) => ({ png: p, label: shown[i]?.time !== undefined ? formatTime(shown[i]!.time!) : '' })));
    if (png) items.push({ mime: 'image/png', data: png });
  } else {
    const image = await compositeFallback(pngs);
    if (image) items.push({ mime: image.mime, data: image.data });
  }
  items.push(textItem(altText(result)));
  return { items, metadata: { loupe: { timings: result.timings } } };
}
