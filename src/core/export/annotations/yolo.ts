// YOLO detection labels: `labels/<image path without extension>.txt` (the image's path relative to the notebook's
// folder; `..` segments become `__` so nothing lands outside the export), `classes.txt` and `data.yaml`. Each line is
// `class cx cy w h`, normalised to the upright image and clamped to [0, 1]; quads are their bounding box, points a
// box one pixel wide. Every image that was read gets a file, empty when it has no regions.
import { extname } from 'node:path';
import { isOkImage, rowShapes, type AnnotationGroup, type OutFile, type Shape } from './common';

export function yoloFiles(g: AnnotationGroup): OutFile[] {
  const ids = new Map(g.categories.map((name, i) => [name, i]));
  const used = new Set<string>();
  const files: OutFile[] = [];
  for (const row of g.rows) {
    if (!isOkImage(row)) continue;
    const lines = rowShapes(row, g.prompt).map((s) => `${ids.get(s.label)} ${normalised(s, row.width, row.height).map((v) => v.toFixed(6)).join(' ')}`);
    files.push({ path: labelPath(row.image, used), data: lines.map((l) => l + '\n').join('') });
  }
  const names = g.categories.map((n) => JSON.stringify(n)); // a JSON string is a YAML double-quoted scalar
  const yaml = [
    `# Written by Loupe from cell ${g.cell} of ${g.notebookName.replace(/[\r\n]/g, ' ')}. Labels are in labels/ next to this`,
    '# file, mirroring the images\' paths under `path`: move them beside the images (or images/ → labels/) to train.',
    `path: ${JSON.stringify(g.notebookDir)}`,
    'train: .',
    'val: .',
    `nc: ${g.categories.length}`,
    names.length ? `names:\n${names.map((n) => `  - ${n}`).join('\n')}` : 'names: []',
  ];
  files.push({ path: 'classes.txt', data: g.categories.map((n) => n + '\n').join('') }, { path: 'data.yaml', data: yaml.join('\n') + '\n' });
  return files;
}

function normalised(s: Shape, width: number, height: number): number[] {
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  if (s.kind === 'point') return [s.coords[0]! / width, s.coords[1]! / height, 1 / width, 1 / height].map(clamp);
  const [x1, y1, x2, y2] = s.box;
  return [(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height].map(clamp);
}

/** The label file of an image; two images with one stem (a.png, a.jpg) keep their extension apart. */
function labelPath(image: string, used: Set<string>): string {
  const segs = image
    .split(/[\\/]+/)
    .filter((s) => s !== '' && s !== '.')
    .map((s) => (s === '..' ? '__' : s.replace(/[<>:"|?*\p{Cc}]/gu, '_')));
  const last = segs.pop() ?? 'image';
  const stem = last.slice(0, last.length - extname(last).length) || last;
  for (let n = 1; ; n++) {
    const name = n === 1 ? stem : n === 2 ? last : `${last}-${n - 1}`;
    const path = ['labels', ...segs, `${name}.txt`].join('/');
    if (used.has(path.toLowerCase())) continue; // case-insensitive file systems
    used.add(path.toLowerCase());
    return path;
  }
}
