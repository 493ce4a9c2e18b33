// The images of a batch: `@images` globs matched by tinyglobby relative to the notebook's folder, images only,
// without duplicates, sorted, and checked against the batch limit before anything runs.
import { extname } from 'node:path';
import { glob } from 'tinyglobby';
import { LoupeError } from '../../common/errors';

/** Files a batch takes: what sharp reads (the rest of a folder, such as .txt or .json, is left out). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.bmp'];

export interface MatchOptions {
  /** The notebook's folder: globs are relative to it. */
  baseDir: string;
  maxImages: number;
  /** How the limit is changed, for the message (`loupe.batchMaxImages`, `--max-images`). */
  limitHint: string;
}

/** Image paths relative to the notebook's folder, with `/` separators, sorted by code point (the same on every OS). */
export async function matchImages(globs: string[], o: MatchOptions): Promise<string[]> {
  const files = await glob(globs, { cwd: o.baseDir, onlyFiles: true, expandDirectories: false, followSymbolicLinks: true, caseSensitiveMatch: true });
  const images = [...new Set(files.map((f) => f.replace(/\\/g, '/')))].filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()));
  const what = globs.map((g) => `@images ${g}`).join(', ');
  if (images.length === 0) {
    const others = files.length ? ` (it matched ${files.length} file${files.length === 1 ? '' : 's'} that ${files.length === 1 ? 'is not an image' : 'are not images'}, such as ${files[0]})` : '';
    throw new LoupeError('bad-input', `${what} matches no images in ${o.baseDir}${others}. Globs are relative to the notebook's folder: photos/*.jpg, scans/**/*.png. Images: ${IMAGE_EXTENSIONS.join(' ')}.`);
  }
  if (images.length > o.maxImages) {
    throw new LoupeError('bad-input', `${what} matches ${images.length.toLocaleString('en-US')} images, more than the batch limit of ${o.maxImages.toLocaleString('en-US')}: narrow the glob, or raise the limit (${o.limitHint}).`);
  }
  return images.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
