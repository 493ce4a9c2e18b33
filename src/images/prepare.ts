// Turns user images into RGB pixels for a processor: the same header check and decode as image cells
// (load.ts), plus a pre-resize so the processor never sees a 12 MP photo.
import { readFile } from 'node:fs/promises';
import type { OutputInfo } from 'sharp';
import { decodePipeline, imageError, inspectImage } from './load';
import { loadSharp } from './sharp';

export interface PreparedImage {
  /** Natural size after EXIF orientation. */
  width: number;
  height: number;
  /** Size of the pixels handed to the processor. */
  pixelWidth: number;
  pixelHeight: number;
  rgb: Buffer;
}

/**
 * A processor's fixed input size and resampling (transformers.js's `resample` codes: 0 nearest, 1 lanczos, 2 bilinear,
 * 3 bicubic). The image is resized to it here, in the same libvips operation transformers.js uses in Node (`affine`
 * with that interpolator, or lanczos3 `resize`), so the processor skips its own resize of a full-size copy in JS and
 * gets the pixels it would have made itself.
 */
export interface ExactSize {
  width: number;
  height: number;
  resample: number;
}

/**
 * Decodes one image; maxPixels refuses oversized images from the header, maxSide/maxArea bound what the model sees,
 * exactSize resizes to a processor's fixed input size.
 */
export async function prepareImage(input: { source: string; path?: string; bytes?: Buffer }, limits: { maxPixels: number; maxArea?: number; maxSide?: number; exactSize?: ExactSize }): Promise<PreparedImage> {
  let bytes: Buffer;
  try {
    bytes = input.bytes ?? (await readFile(input.path!));
  } catch (e) {
    throw imageError(`cannot read ${input.source}: ${(e as Error).message}`);
  }
  const { width, height } = await inspectImage(bytes, input.source, limits.maxPixels);
  let scale = 1;
  if (limits.maxSide) scale = Math.min(scale, limits.maxSide / Math.max(width, height));
  if (limits.maxArea) scale = Math.min(scale, Math.sqrt(limits.maxArea / (width * height)));
  let pipeline = (await decodePipeline(bytes, limits.maxPixels)).removeAlpha();
  const exact = limits.exactSize;
  if (exact && (exact.width !== width || exact.height !== height)) {
    const interpolator = ({ 0: 'nearest', 2: 'bilinear', 3: 'bicubic', 4: 'bilinear', 5: 'bilinear' } as const)[exact.resample as 0];
    pipeline = interpolator
      ? pipeline.affine([exact.width / width, 0, 0, exact.height / height], { interpolator })
      : pipeline.resize(exact.width, exact.height, { fit: 'fill', kernel: 'lanczos3' });
  } else if (scale < 1) pipeline = pipeline.resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { fit: 'fill', kernel: 'lanczos3' });
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw imageError(`${input.source} is corrupt or truncated: ${(e as Error).message.split('\n')[0]}`);
  }
  return { width, height, pixelWidth: out.info.width, pixelHeight: out.info.height, rgb: out.data };
}

/**
 * An image as a server should receive it: decoded upright, resized to exactly `size(natural)` (the caller picks
 * the size the model will see, so the server's own resize is a no-op), and encoded as JPEG (PNG where it has
 * transparency, flattened otherwise would change what the model sees).
 */
export async function encodeForServer(
  input: { source: string; path?: string; bytes?: Uint8Array },
  maxPixels: number,
  size: (natural: { width: number; height: number }) => { width: number; height: number },
): Promise<{ data: Buffer; mime: 'image/jpeg' | 'image/png'; width: number; height: number; natural: { width: number; height: number } }> {
  let bytes: Buffer;
  try {
    bytes = input.bytes ? Buffer.from(input.bytes) : await readFile(input.path!);
  } catch (e) {
    throw imageError(`cannot read ${input.source}: ${(e as Error).message}`);
  }
  const header = await inspectImage(bytes, input.source, maxPixels);
  const natural = { width: header.width, height: header.height };
  const target = size(natural);
  const resized = (await decodePipeline(bytes, maxPixels)).resize(target.width, target.height, { fit: 'fill', kernel: 'lanczos3' });
  try {
    // Decoded and resized once; encoded once: PNG where there is transparency, else JPEG (a fraction of the bytes).
    const { data: raw, info } = await resized.raw().toBuffer({ resolveWithObject: true });
    const s = await loadSharp();
    const pixels = s(raw, { raw: { width: info.width, height: info.height, channels: info.channels } });
    if (info.channels === 2 || info.channels === 4) return { data: await pixels.png({ compressionLevel: 1 }).toBuffer(), mime: 'image/png', width: info.width, height: info.height, natural };
    return { data: await pixels.jpeg({ quality: 92 }).toBuffer(), mime: 'image/jpeg', width: info.width, height: info.height, natural };
  } catch (e) {
    throw imageError(`${input.source} is corrupt or truncated: ${(e as Error).message.split('\n')[0]}`);
  }
}
