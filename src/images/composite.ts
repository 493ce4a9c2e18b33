// The image a viewer without Loupe's renderer shows (GitHub, Jupyter, the ipynb export): every readable image side by side.
import { loadSharp } from './sharp';

const FALLBACK_MAX_SIDE = 800;
const GAP = 8;
/** A 256-colour PNG up to this size is kept as it is (flat images, screenshots, text: crisp and small). */
const PNG_OK_BYTES = 64_000;
/** Notebook viewers show an output at most about this wide: a photo composite is not stored wider. */
const JPEG_MAX_WIDTH = 1024;
const JPEG_QUALITY = 75;

export interface FallbackImage {
  mime: 'image/png' | 'image/jpeg';
  data: Buffer;
}

/**
 * All images side by side, each fitted into 800×800: a 256-colour PNG, or, for opaque photos whose PNG would weigh
 * more than 64 kB, a JPEG no wider than 1024 px when that is smaller (a fifth of the PNG for photos). Every byte is
 * stored in the notebook beside the display copies that VS Code shows, so this preview stays small.
 */
export async function compositeFallback(pngs: Buffer[]): Promise<FallbackImage | undefined> {
  if (pngs.length === 0) return undefined;
  const sharp = await loadSharp();
  const tiles = await Promise.all(
    pngs.map((p) => sharp(p).resize({ width: FALLBACK_MAX_SIDE, height: FALLBACK_MAX_SIDE, fit: 'inside', withoutEnlargement: true }).png().toBuffer({ resolveWithObject: true })),
  );
  const opaque = tiles.every((t) => t.info.channels === 3);
  let composite;
  if (tiles.length === 1) composite = sharp(tiles[0]!.data);
  else {
    const width = tiles.reduce((s, t) => s + t.info.width, 0) + GAP * (tiles.length - 1);
    const height = Math.max(...tiles.map((t) => t.info.height));
    let left = 0;
    const layers = tiles.map((t) => {
      const layer = { input: t.data, left, top: 0 };
      left += t.info.width + GAP;
      return layer;
    });
    const raw = await sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).composite(layers).raw().toBuffer({ resolveWithObject: true });
    composite = sharp(raw.data, { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } });
  }
  const png = await composite.clone().png({ palette: true, quality: 90, effort: 4 }).toBuffer();
  if (png.length <= PNG_OK_BYTES || !opaque) return { mime: 'image/png', data: png };
  // The gaps between tiles are transparent: white in the JPEG.
  const jpeg = await composite.clone().flatten({ background: '#ffffff' }).resize({ width: JPEG_MAX_WIDTH, withoutEnlargement: true }).jpeg({ quality: JPEG_QUALITY, mozjpeg: true }).toBuffer();
  return jpeg.length < png.length ? { mime: 'image/jpeg', data: jpeg } : { mime: 'image/png', data: png };
}
