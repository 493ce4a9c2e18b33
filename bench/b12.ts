// B12: bytes an image cell stores in a .loupe file, on a pair of photos (a 741×500 PNG and a 1000×872 JPEG), split by
// output item: Loupe's JSON result (with its display copies, what VS Code shows through Loupe's renderer), the
// image fallback for viewers without that renderer, and the text fallback. The cell is built by the kernel's own
// code (loadImage → imageCellOutput) and serialized by the notebook format's own serializer.
//
//   node --import tsx bench/b12.ts      (B12 alone, printed)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { imageCellOutput } from '../src/core/kernel/outputs';
import { emptyNotebook, encodeItem, serializeNotebook, type StoredCell } from '../src/core/notebook/format';
import { loadImage } from '../src/images/load';
import { fmt, ROOT, summarize } from './common';

export const B12_GOAL_BYTES = 400_000;

/** The fallback as Loupe wrote it before B12: the same composite as a 256-colour PNG, whatever the content. */
async function oldFallbackPng(pngs: Buffer[]): Promise<Buffer> {
  const tiles = await Promise.all(pngs.map((p) => sharp(p).resize({ width: 800, height: 800, fit: 'inside', withoutEnlargement: true }).png().toBuffer({ resolveWithObject: true })));
  const width = tiles.reduce((s, t) => s + t.info.width, 0) + 8 * (tiles.length - 1);
  let left = 0;
  const layers = tiles.map((t) => ({ input: t.data, left: (left += t.info.width + 8) - t.info.width - 8, top: 0 }));
  return sharp({ create: { width, height: Math.max(...tiles.map((t) => t.info.height)), channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).composite(layers).png({ palette: true, quality: 90, effort: 4 }).toBuffer();
}

/** The pair of photos: generated once from the examples, at the sizes of the issue's cell. */
export async function photoPair(): Promise<string[]> {
  const out = join(ROOT, 'bench', '.out');
  mkdirSync(out, { recursive: true });
  const png = join(out, 'pair-741x500.png');
  const jpg = join(out, 'pair-1000x872.jpg');
  await sharp(join(ROOT, 'examples', 'images', 'coffee.png')).resize(741, 500, { fit: 'fill' }).png().toFile(png);
  await sharp(join(ROOT, 'examples', 'images', 'astronaut.png')).resize(1000, 872, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(jpg);
  return [png, jpg];
}

/** Bytes of a cell with these outputs in the .loupe file, beyond the same cell without outputs. */
function storedBytes(outputs: StoredCell['outputs']): number {
  const cell = (o: StoredCell['outputs']): StoredCell => ({ kind: 'code', language: 'loupe', source: 'pair-741x500.png\npair-1000x872.jpg', metadata: {}, outputs: o });
  const nb = (o: StoredCell['outputs']) => serializeNotebook({ ...emptyNotebook(), cells: [cell(o)] }).byteLength;
  return nb(outputs) - nb([]);
}

export async function runB12(o: { rounds: number }): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const files = await photoPair();
  const images = await Promise.all(files.map((f) => loadImage(f)));
  const ms: number[] = [];
  let spec = await imageCellOutput(images, {});
  for (let i = 0; i < o.rounds; i++) {
    const t0 = performance.now();
    spec = await imageCellOutput(images, {});
    ms.push(performance.now() - t0);
  }
  const items = spec.items.map((it) => ({ mime: it.mime, raw: it.data.byteLength, stored: JSON.stringify(encodeItem(it.mime, it.data)).length }));
  const total = storedBytes([{ items: spec.items.map((it) => encodeItem(it.mime, it.data)), metadata: spec.metadata as never }]);
  const fallback = spec.items.find((it) => it.mime.startsWith('image/'));
  const old = await oldFallbackPng(images.flatMap((r) => (r.ok ? [r.image.displayPng] : [])));
  const oldTotal = total - (fallback ? JSON.stringify(encodeItem(fallback.mime, fallback.data)).length : 0) + JSON.stringify(encodeItem('image/png', old)).length;
  if (fallback) writeFileSync(join(ROOT, 'bench', '.out', `b12-fallback.${fallback.mime === 'image/jpeg' ? 'jpg' : 'png'}`), fallback.data);
  const fbMeta = fallback ? await sharp(Buffer.from(fallback.data)).metadata() : undefined;
  const time = summarize(ms);
  const row = (...c: string[]) => `| ${c.join(' | ')} |`;
  const kb = (b: number) => `${(b / 1000).toFixed(1)} kB`;
  const displays = images.flatMap((r) => (r.ok ? [`${r.image.display.mime} ${r.image.display.width}×${r.image.display.height}`] : []));
  const lines = [
    '## B12 Notebook size: stored bytes per image cell',
    '',
    'An image cell with two photos, a 741×500 PNG and a 1000×872 JPEG (made from `examples/images/coffee.png` and `astronaut.png` with sharp), built by the kernel\'s',
    '`loadImage` → `imageCellOutput` and stored by the notebook format\'s serializer; bytes of the cell with its output minus the same cell without it.',
    `Display copies in the result (what VS Code shows through Loupe's renderer, unchanged by this issue): ${displays.join(', ')}.`,
    '',
    row('output item', 'bytes', 'stored in the .loupe file (base64 or JSON)'),
    row('---', '---', '---'),
    ...items.map((it) => row(`\`${it.mime}\``, kb(it.raw), kb(it.stored))),
    row('**the cell\'s output, as stored**', '', `**${kb(total)}**`),
    '',
    `Fallback image: ${fallback ? `\`${fallback.mime}\`, ${fbMeta?.width}×${fbMeta?.height}` : 'none'}. Building the output: ${fmt(time, 1, ' ms')}.`,
    `Before this change the fallback was always a 256-colour PNG of the composite (tiles up to 800 px): ${kb(old.byteLength)} here, ${kb(oldTotal)} for the whole output as stored (the issue measured 1.27 MB on its photos).`,
    'Now: photos (opaque, and a PNG over 64 kB) get a JPEG (quality 75, at most 1024 px wide: what notebook viewers show anyway) when it is smaller; flat images, screenshots',
    'and anything with transparency keep the PNG. The ipynb export writes the fallback under its own mime type. The display copies and the renderer are unchanged.',
    '',
    `Goal ≤ ${kb(B12_GOAL_BYTES)} per image cell: ${total <= B12_GOAL_BYTES ? '**met**' : '**missed**'} (${kb(total)}).`,
    '',
  ];
  return { lines, json: { total, oldTotal, items, fallback: fallback?.mime, ms: time.median } };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runB12({ rounds: 3 }).then((r) => {
    console.log(r.lines.join('\n'));
    process.exit(0);
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
