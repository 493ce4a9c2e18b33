// Cells that bring images into a notebook: Ask About Image, paste and drop. Pure: paths and text only.
import { extname, isAbsolute, relative, sep } from 'node:path';

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff'] as const;

export function isImagePath(p: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(p).slice(1).toLowerCase());
}

/** How a cell refers to a file: relative to the notebook (forward slashes) when saved, else absolute. */
export function imageRef(file: string, notebookDir: string | undefined): string {
  if (!notebookDir) return file;
  const rel = relative(notebookDir, file);
  // Another drive on Windows: relative() returns an absolute path.
  if (isAbsolute(rel)) return file;
  return rel.split(sep).join('/');
}

export interface NewCells {
  /** Code cell sources to append, in order. */
  cells: string[];
  /** Which of the appended cells gets the cursor, and on which line (0-based). */
  cursor: { cell: number; line: number };
}

/** An image cell showing the images, then a prompt cell for them with the cursor on its empty prompt line. */
export function askCells(files: string[], notebookDir: string | undefined, question = ''): NewCells {
  const lines = files.map((f) => `@image ${imageRef(f, notebookDir)}`);
  const prompt = [...lines, question].join('\n');
  return { cells: [lines.join('\n'), prompt], cursor: { cell: 1, line: lines.length } };
}

/** Text a drop of files inserts: one `@image` line per image, each on its own line. */
export function dropText(files: string[], notebookDir: string | undefined, atLineStart: boolean): string | undefined {
  const images = files.filter(isImagePath);
  if (images.length === 0) return undefined;
  return (atLineStart ? '' : '\n') + images.map((f) => `@image ${imageRef(f, notebookDir)}`).join('\n') + '\n';
}

const MIME_EXT: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp', 'image/tiff': 'tif' };

export function extensionForMime(mime: string): string | undefined {
  return MIME_EXT[mime.toLowerCase()];
}

/** `paste-20261126-101530.png`, then `-2`, `-3`… when taken: pasted files never overwrite each other. */
export function uniqueAssetName(taken: (name: string) => boolean, ext: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  for (let i = 1; ; i++) {
    const name = `paste-${stamp}${i === 1 ? '' : `-${i}`}.${ext}`;
    if (!taken(name)) return name;
  }
}
