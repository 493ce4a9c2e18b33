// A contact sheet of video frames with their times burned in: the PNG that viewers without Loupe's renderer show for
// a clip (a row of 24 frames side by side would be 20 000 pixels wide).
import { escapeHtml } from '../common/markup';
import { loadSharp } from './sharp';

const TILE = 240;
const COLUMNS = 6;
const GAP = 6;
const LABEL = 18;

export async function contactSheet(tiles: { png: Buffer; label: string }[]): Promise<Buffer | undefined> {
  if (!tiles.length) return undefined;
  const sharp = await loadSharp();
  const fitted = await Promise.all(tiles.map((t) => sharp(t.png).resize({ width: TILE, height: TILE, fit: 'inside' }).png().toBuffer({ resolveWithObject: true })));
  const rowHeight = Math.max(...fitted.map((f) => f.info.height)) + LABEL;
  const cols = Math.min(COLUMNS, tiles.length);
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * TILE + (cols - 1) * GAP;
  const height = rows * rowHeight + (rows - 1) * GAP;
  const layers = fitted.flatMap((f, i) => {
    const left = (i % cols) * (TILE + GAP);
    const top = Math.floor(i / cols) * (rowHeight + GAP);
    const label = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${TILE}" height="${LABEL}"><rect width="100%" height="100%" fill="#202020"/><text x="4" y="13" font-family="sans-serif" font-size="12" fill="#ffffff">${escapeHtml(tiles[i]!.label)}</text></svg>`);
    return [
      { input: f.data, left: left + Math.floor((TILE - f.info.width) / 2), top },
      { input: label, left, top: top + rowHeight - LABEL },
    ];
  });
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite(layers)
    .png({ palette: true, quality: 90, effort: 4 })
    .toBuffer();
}
