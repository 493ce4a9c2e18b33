// sharp is a native module: load it on first use, not at activation.
import type sharpType from 'sharp';

let cached: typeof sharpType | undefined;

export async function loadSharp(): Promise<typeof sharpType> {
  cached ??= (await import('sharp')).default;
  return cached;
}
