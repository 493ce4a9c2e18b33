// Draws regions into a PNG (for viewers without Loupe's renderer, and for exports), with the shapes every other
// drawing of regions uses (common/regions.ts).
import { labelColor } from '../common/colors';
import { labelAnchor, labelText, regionInImage, regionShape, shapeSvg } from '../common/regions';
import type { Region } from '../common/result';
import { loadSharp } from './sharp';

/** SVG of the regions of one image, in display pixels (scale = display / natural); `colors[i]` overrides the label's
 * colour (side by side, a region takes its model's). */
export function regionsSvg(regions: Region[], width: number, height: number, scale: number, colors: readonly string[] = []): string {
  const natural = { width: width / scale, height: height / scale };
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(11, Math.round(Math.min(width, height) / 40));
  const parts = regions.map((region, i) => {
    const r = regionInImage(region, natural.width, natural.height);
    const shape = r && regionShape(r);
    if (!r || !shape) return '';
    const c = colors[i] ?? labelColor(r.label);
    const paint = shape.kind === 'point' ? `fill="${c}" stroke="white" stroke-width="1"` : `fill="none" stroke="${c}" stroke-width="${stroke}"`;
    const svg = shapeSvg(shape, paint, stroke * 3, scale);
    if (!r.label) return svg;
    const text = labelText(r.label);
    const [lx, ly] = labelAnchor(r).map((v) => v * scale) as [number, number];
    const chipW = Math.round(Math.min(r.label.length, 40) * font * 0.6 + 8);
    const top = Math.max(0, ly - font - 6);
    return `${svg}<rect x="${lx}" y="${top}" width="${chipW}" height="${font + 6}" fill="${c}"/><text x="${lx + 4}" y="${top + font + 1}" font-family="sans-serif" font-size="${font}" fill="white">${text}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

export async function burnRegions(png: Buffer, regions: Region[], naturalWidth: number, colors: readonly string[] = []): Promise<Buffer> {
  if (regions.length === 0) return png;
  const sharp = await loadSharp();
  const meta = await sharp(png).metadata();
  const svg = regionsSvg(regions, meta.width!, meta.height!, meta.width! / naturalWidth, colors);
  return sharp(png).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toBuffer();
}
