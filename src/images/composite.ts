// The PNG a viewer without Loupe's renderer shows: every readable image side by side.
import { loadSharp } from './sharp';

const FALLBACK_MAX_SIDE = 800;
const GAP = 8;

/** All images side by side, each fitted into 800×800. */
export async function compositePng(pngs: Buffer[]): Promise<Buffer | undefined> {
  if (pngs.length === 0) return undefined;
  const sharp = await loadSharp();
  const tiles = await Promise.all(
    pngs.map((p) => sharp(p).resize({ width: FALLBACK_MAX_SIDE, height: FALLBACK_MAX_SIDE, fit: 'inside', withoutEnlargement: true }).png().toBuffer({ resolveWithObject: true })),
  );
  // A palette PNG is a quarter the size of a full-colour one: this is a preview, and every byte is saved in the notebook.
  if (tiles.length === 1) return sharp(tiles[0]!.data).png({ palette: true, quality: 90, effort: 4 }).toBuffer();
  const width = tiles.reduce((s, t) => s + t.info.width, 0) + GAP * (tiles.length - 1);
  const height = Math.max(...tiles.map((t) => t.info.height));
  let left = 0;
  const layers = tiles.map((t) => {
    const layer = { input: t.data, left, top: 0 };
    left += t.info.width + GAP;
    return layer;
  });
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite(layers)
    .png({ palette: true, quality: 90, effort: 4 })
    .toBuffer();
}
