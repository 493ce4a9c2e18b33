// Draws regions into a PNG (for viewers without Loupe's renderer, and for exports).
import { labelColor } from '../common/colors';
import type { Region } from '../common/result';
import { loadSharp } from './sharp';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** SVG of the regions of one image, in display pixels (scale = display / natural). */
export function regionsSvg(regions: Region[], width: number, height: number, scale: number): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(11, Math.round(Math.min(width, height) / 40));
  const parts = regions.map((r) => {
    const c = labelColor(r.label);
    const p = r.coords.map((v) => v * scale);
    let shape: string;
    let lx = p[0]!;
    let ly = p[1]!;
    if (r.kind === 'box') shape = `<rect x="${p[0]}" y="${p[1]}" width="${p[2]! - p[0]!}" height="${p[3]! - p[1]!}" fill="none" stroke="${c}" stroke-width="${stroke}"/>`;
    else if (r.kind === 'quad') {
      shape = `<polygon points="${p.join(' ')}" fill="none" stroke="${c}" stroke-width="${stroke}"/>`;
      lx = Math.min(...p.filter((_, i) => i % 2 === 0));
      ly = Math.min(...p.filter((_, i) => i % 2 === 1));
    } else shape = `<circle cx="${p[0]}" cy="${p[1]}" r="${stroke * 3}" fill="${c}" stroke="white" stroke-width="1"/>`;
    if (!r.label) return shape;
    const text = esc(r.label.length > 40 ? r.label.slice(0, 39) + '…' : r.label);
    const chipW = Math.round(text.length * font * 0.6 + 8);
    const top = Math.max(0, ly - font - 6);
    return `${shape}<rect x="${lx}" y="${top}" width="${chipW}" height="${font + 6}" fill="${c}"/><text x="${lx + 4}" y="${top + font + 1}" font-family="sans-serif" font-size="${font}" fill="white">${text}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

export async function burnRegions(png: Buffer, regions: Region[], naturalWidth: number): Promise<Buffer> {
  if (regions.length === 0) return png;
  const sharp = await loadSharp();
  const meta = await sharp(png).metadata();
  const svg = regionsSvg(regions, meta.width!, meta.height!, meta.width! / naturalWidth);
  return sharp(png).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toBuffer();
}
