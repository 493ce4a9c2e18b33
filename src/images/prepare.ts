// Turns user images into RGB pixels for a processor: the same header check and decode as image cells
// (load.ts), plus a pre-resize so the processor never sees a 12 MP photo.
import { readFile } from 'node:fs/promises';
import type { OutputInfo } from 'sharp';
import { decodePipeline, imageError, inspectImage } from './load';

export interface PreparedImage {
  /** Natural size after EXIF orientation. */
  width: number;
  height: number;
  /** Size of the pixels handed to the processor. */
  pixelWidth: number;
  pixelHeight: number;
  rgb: Buffer;
}

/** Decodes one image; maxPixels refuses oversized images from the header, maxSide/maxArea bound what the model sees. */
export async function prepareImage(input: { source: string; path?: string; bytes?: Buffer }, limits: { maxPixels: number; maxArea?: number; maxSide?: number }): Promise<PreparedImage> {
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
  if (scale < 1) pipeline = pipeline.resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { fit: 'fill', kernel: 'lanczos3' });
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw imageError(`${input.source} is corrupt or truncated: ${(e as Error).message.split('\n')[0]}`);
  }
  return { width, height, pixelWidth: out.info.width, pixelHeight: out.info.height, rgb: out.data };
}
