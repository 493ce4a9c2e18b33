// Turns user images into RGB pixels for a processor: upright, 8-bit sRGB, and never larger than the model can use.
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import type { ImageInput } from '../../common/protocol';

export interface PreparedImage {
  /** Natural size after EXIF orientation. */
  width: number;
  height: number;
  /** Size of the pixels handed to the processor. */
  pixelWidth: number;
  pixelHeight: number;
  rgb: Buffer;
}

export class ImageInputError extends Error {}

/**
 * Decodes one image. maxPixels refuses oversized images from the header;
 * maxSide/maxArea pre-resize with sharp so the processor never sees a 12 MP photo.
 */
export async function prepareImage(input: ImageInput, limits: { maxPixels: number; maxArea?: number; maxSide?: number }): Promise<PreparedImage> {
  let bytes: Buffer;
  try {
    bytes = input.data !== undefined ? Buffer.from(input.data, 'base64') : await readFile(input.path!);
  } catch (e) {
    throw new ImageInputError(`cannot read ${input.source}: ${(e as Error).message}`);
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageInputError(`${input.source} is not a readable image: ${(e as Error).message}`);
  }
  const frameH = meta.pageHeight ?? meta.height ?? 0;
  const w0 = meta.width ?? 0;
  if (!w0 || !frameH) throw new ImageInputError(`${input.source} has no readable size`);
  if (w0 * frameH > limits.maxPixels) throw new ImageInputError(`${input.source} is ${w0}×${frameH} pixels, above loupe.maxImagePixels`);
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? frameH : w0;
  const height = swap ? w0 : frameH;

  let scale = 1;
  if (limits.maxSide) scale = Math.min(scale, limits.maxSide / Math.max(width, height));
  if (limits.maxArea) scale = Math.min(scale, Math.sqrt(limits.maxArea / (width * height)));
  let pipeline = sharp(bytes, { failOn: 'error', limitInputPixels: limits.maxPixels, pages: 1 }).autoOrient().toColourspace('srgb').removeAlpha();
  if (scale < 1) pipeline = pipeline.resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { fit: 'fill', kernel: 'lanczos3' });
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageInputError(`${input.source} is corrupt or truncated: ${(e as Error).message.split('\n')[0]}`);
  }
  return { width, height, pixelWidth: out.info.width, pixelHeight: out.info.height, rgb: out.data };
}
