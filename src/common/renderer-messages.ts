// Messages between the notebook renderer (webview) and the extension host, defined once for both sides.
import type { BatchRowView } from './batch';

/** The user dragged a rectangle on an image: ask a new question about that region. */
export interface AskAboutRegionMessage {
  type: 'askAboutRegion';
  /** The output the image belongs to, so the extension can find its cell. */
  outputId?: string;
  /** `index` is 1-based; `source` is the image as written in the cell (relative to the notebook, or a URL). */
  image: { index: number; source: string };
  /** [x1, y1, x2, y2] in the original (EXIF-upright) image's pixels: integers, x1 < x2, y1 < y2, inside the image. */
  box: [number, number, number, number];
}

/** Webviews may not write the clipboard (`navigator.clipboard` needs focus and permission): the extension does it. */
export interface CopyMessage {
  type: 'copy';
  text: string;
}

/** The batch table's pager: rows [offset, offset + limit) of a batch, read from its sidecar by the extension. */
export interface BatchPageMessage {
  type: 'batchPage';
  /** Matches the answer to the request. */
  requestId: number;
  outputId?: string;
  /** The sidecar, relative to the notebook's folder (from the result). */
  sidecar: string;
  offset: number;
  limit: number;
  /** `@truth` as written, to score the page's rows. */
  truth?: string;
}

export type RendererMessage = AskAboutRegionMessage | CopyMessage | BatchPageMessage;

/** The extension's answer to a BatchPageMessage. */
export interface BatchPageResult {
  type: 'batchPageResult';
  requestId: number;
  rows: BatchRowView[];
  error?: string;
}

export function isBatchPageResult(v: unknown): v is BatchPageResult {
  return typeof v === 'object' && v !== null && (v as BatchPageResult).type === 'batchPageResult' && Array.isArray((v as BatchPageResult).rows) && typeof (v as BatchPageResult).requestId === 'number';
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Checks a message from the webview before the extension acts on it: the webview shows model output, so trust nothing. */
export function parseRendererMessage(value: unknown): RendererMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (m.type === 'copy') return typeof m.text === 'string' && m.text.length <= 100_000 ? { type: 'copy', text: m.text } : undefined;
  if (m.type === 'batchPage') {
    if (!isInt(m.requestId) || typeof m.sidecar !== 'string' || !isInt(m.offset) || m.offset < 0 || !isInt(m.limit) || m.limit < 1 || m.limit > 200) return undefined;
    if (m.truth !== undefined && typeof m.truth !== 'string') return undefined;
    if (m.outputId !== undefined && typeof m.outputId !== 'string') return undefined;
    return { type: 'batchPage', requestId: m.requestId, sidecar: m.sidecar, offset: m.offset, limit: m.limit, ...(typeof m.outputId === 'string' ? { outputId: m.outputId } : {}), ...(typeof m.truth === 'string' ? { truth: m.truth } : {}) };
  }
  if (m.type !== 'askAboutRegion') return undefined;
  const image = m.image as Record<string, unknown> | undefined;
  const box = m.box;
  if (typeof image !== 'object' || image === null || !isInt(image.index) || image.index < 1 || typeof image.source !== 'string' || !image.source) return undefined;
  if (/[\r\n]/.test(image.source)) return undefined;
  if (!Array.isArray(box) || box.length !== 4 || !box.every((c) => isInt(c) && c >= 0)) return undefined;
  const [x1, y1, x2, y2] = box as number[];
  if (!(x1! < x2! && y1! < y2!)) return undefined;
  if (m.outputId !== undefined && typeof m.outputId !== 'string') return undefined;
  return {
    type: 'askAboutRegion',
    ...(typeof m.outputId === 'string' ? { outputId: m.outputId } : {}),
    image: { index: image.index, source: image.source },
    box: [x1!, y1!, x2!, y2!],
  };
}
