// Reads user images safely: header checks before any decode, orientation applied, 8-bit sRGB out.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metadata, OutputInfo, Sharp } from 'sharp';
import { DEFAULTS } from '../common/defaults';
import { isLoupeError, LoupeError } from '../common/errors';
import type { DisplayImage } from '../common/result';
import { loadSharp } from './sharp';
import { tiffSamples } from './tiff';

/** Files this large are refused before reading: no image Loupe can use needs more. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;
const URL_TIMEOUT_MS = 30_000;

export interface ImageOptions {
  /** Folder that relative paths are resolved against (the notebook's folder). */
  baseDir?: string;
  maxPixels?: number;
  maxSide?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** No network at all: https images are refused, not fetched. */
  offline?: boolean;
}

export interface LoadedImage {
  source: string;
  /** Absolute file path, for file sources. */
  path?: string;
  /** Natural size after EXIF orientation. */
  width: number;
  height: number;
  format: string;
  notes: string[];
  display: DisplayImage;
  /** The decoded display-size image as PNG, for fallbacks and composites. */
  displayPng: Buffer;
  /** The downloaded bytes, for URL sources (which have no path to read again). */
  bytes?: Buffer;
}

export type ImageResult = { ok: true; image: LoadedImage } | { ok: false; source: string; error: string };

/** An image that cannot be used, with a message that names it and says why. */
export function imageError(message: string): LoupeError {
  return new LoupeError('bad-image', message);
}

export function resolveImagePath(source: string, baseDir?: string): string {
  if (/^file:/i.test(source)) return fileURLToPath(source);
  if (isAbsolute(source)) return source;
  if (!baseDir) throw imageError(`"${source}" is a relative path, but the notebook has not been saved yet: save it first or use an absolute path`);
  return resolve(baseDir, source);
}

/** Reads the bytes of a file path or https URL, with clear errors for every way that can fail. */
export async function readImageBytes(source: string, opts: ImageOptions = {}): Promise<{ bytes: Buffer; path?: string }> {
  if (/^https:/i.test(source)) {
    if (opts.offline) throw imageError(`${source} was not downloaded: this run is offline (--offline). Save the image next to the notebook and write its path.`);
    const f = opts.fetch ?? fetch;
    const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(URL_TIMEOUT_MS)]) : AbortSignal.timeout(URL_TIMEOUT_MS);
    let res: Response;
    try {
      res = await f(source, { signal, redirect: 'follow' });
    } catch (e) {
      throw imageError(`could not download ${source}: ${(e as Error).name === 'TimeoutError' ? 'timed out' : ((e as Error & { cause?: Error }).cause?.message ?? (e as Error).message)}`);
    }
    if (!res.ok) throw imageError(`could not download ${source}: HTTP ${res.status} ${res.statusText}`.trim());
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_FILE_BYTES) throw imageError(`${source} is ${mb(declared)}, larger than the ${mb(MAX_FILE_BYTES)} Loupe accepts`);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > MAX_FILE_BYTES) throw imageError(`${source} is larger than the ${mb(MAX_FILE_BYTES)} Loupe accepts`);
      chunks.push(Buffer.from(chunk));
    }
    return { bytes: Buffer.concat(chunks) };
  }
  const path = resolveImagePath(source, opts.baseDir);
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw imageError(fsMessage(e as NodeJS.ErrnoException, source));
  }
  if (info.isDirectory()) throw imageError(`${source} is a folder, not an image file`);
  if (!info.isFile()) throw imageError(`${source} is not a regular file`);
  if (info.size === 0) throw imageError(`${source} is empty (0 bytes)`);
  if (info.size > MAX_FILE_BYTES) throw imageError(`${source} is ${mb(info.size)}, larger than the ${mb(MAX_FILE_BYTES)} Loupe accepts`);
  try {
    return { bytes: await readFile(path), path };
  } catch (e) {
    throw imageError(fsMessage(e as NodeJS.ErrnoException, source));
  }
}

function fsMessage(e: NodeJS.ErrnoException, source: string): string {
  switch (e.code) {
    case 'ENOENT':
      return `image not found: ${source}`;
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${source}: permission denied`;
    case 'EISDIR':
      return `${source} is a folder, not an image file`;
    default:
      return `cannot read ${source}: ${e.message}`;
  }
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

export interface ImageHeader {
  width: number;
  height: number;
  format: string;
  pages: number;
  notes: string[];
}

/** Reads only the header and refuses images whose pixel count is over the limit, before any decode. */
export async function inspectImage(bytes: Buffer, source: string, maxPixels = DEFAULTS.maxImagePixels): Promise<ImageHeader> {
  const sharp = await loadSharp();
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    const msg = String((e as Error).message);
    if (/unsupported image format/i.test(msg)) throw imageError(`${source} is not an image Loupe can read (supported: PNG, JPEG, WebP, GIF, TIFF, AVIF, HEIF, SVG)`);
    // A readable TIFF header with samples libvips does not decode is an unsupported format, not damage.
    const tiff = tiffSamples(bytes);
    if (tiff && (tiff.bits > 32 || tiff.format.startsWith('complex'))) {
      throw imageError(
        `${source} is a TIFF of ${tiff.bits}-bit ${tiff.format} samples${tiff.pages > 1 ? ` (${tiff.pages} pages)` : ''}, a sample format Loupe cannot decode: it reads 8- and 16-bit images (and 32-bit float TIFFs). Convert it, for example to a 16-bit PNG or TIFF.`,
      );
    }
    throw imageError(`${source} is corrupt or truncated: ${msg}`);
  }
  if (!meta.width || !meta.height) throw imageError(`${source} has no readable size in its header`);
  const pages = meta.pages ?? 1;
  const frameHeight = meta.pageHeight ?? meta.height;
  // EXIF orientations 5–8 rotate by 90°: the displayed size swaps.
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? frameHeight : meta.width;
  const height = swap ? meta.width : frameHeight;
  const pixels = meta.width * frameHeight;
  if (pixels > maxPixels) {
    throw imageError(
      `${source} is ${meta.width}×${frameHeight} pixels (${(pixels / 1e6).toFixed(1)} MP), above the limit of ${(maxPixels / 1e6).toFixed(0)} MP (setting loupe.maxImagePixels); it was not decoded`,
    );
  }
  const notes: string[] = [];
  if (pages > 1) notes.push(`animated ${meta.format?.toUpperCase()} with ${pages} frames: showing the first frame`);
  if (meta.depth && !['uchar', 'char'].includes(meta.depth)) notes.push(`${meta.depth === 'ushort' ? '16-bit' : meta.depth} image converted to 8-bit`);
  if (meta.space && !['srgb', 'b-w', 'rgb'].includes(meta.space)) notes.push(`${meta.space.toUpperCase()} colour converted to sRGB`);
  if (swap || (meta.orientation ?? 1) > 1) notes.push(`EXIF orientation ${meta.orientation} applied`);
  return { width, height, format: meta.format ?? 'unknown', pages, notes };
}

/** A sharp pipeline that decodes the first frame, applies EXIF orientation and yields 8-bit sRGB. */
export async function decodePipeline(bytes: Buffer, maxPixels = DEFAULTS.maxImagePixels): Promise<Sharp> {
  const sharp = await loadSharp();
  return sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels, pages: 1 }).autoOrient().toColourspace('srgb');
}

export async function loadImage(source: string, opts: ImageOptions = {}): Promise<ImageResult> {
  try {
    const { bytes, path } = await readImageBytes(source, opts);
    const maxPixels = opts.maxPixels ?? DEFAULTS.maxImagePixels;
    const header = await inspectImage(bytes, source, maxPixels);
    const maxSide = opts.maxSide ?? DEFAULTS.displayMaxSide;
    const sharp = await loadSharp();
    let out: { data: Buffer; info: OutputInfo };
    try {
      out = await (await decodePipeline(bytes, maxPixels))
        .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
        .png({ compressionLevel: 6 })
        .toBuffer({ resolveWithObject: true });
    } catch (e) {
      throw imageError(`${source} is corrupt or truncated: ${(e as Error).message.split('\n')[0]}`);
    }
    const opaque = !(await sharp(out.data).metadata()).hasAlpha;
    // Photos are much smaller as JPEG; keep PNG where transparency matters.
    const display: DisplayImage = opaque
      ? { mime: 'image/jpeg', data: (await sharp(out.data).jpeg({ quality: 88, mozjpeg: true }).toBuffer()).toString('base64'), width: out.info.width, height: out.info.height }
      : { mime: 'image/png', data: out.data.toString('base64'), width: out.info.width, height: out.info.height };
    const image: LoadedImage = { source, width: header.width, height: header.height, format: header.format, notes: header.notes, display, displayPng: out.data };
    if (path) image.path = path;
    else image.bytes = bytes;
    return { ok: true, image };
  } catch (e) {
    if (isLoupeError(e, 'bad-image')) return { ok: false, source, error: e.message };
    return { ok: false, source, error: `${source} could not be read: ${(e as Error).message}` };
  }
}
