import sharp from 'sharp';

/** A dark PNG with one white rectangle [x1, y1, x2, y2): the fixtures' boxes follow the brightest region. */
export async function spotPng(width: number, height: number, box: [number, number, number, number], opts: { orientation?: number } = {}): Promise<Buffer> {
  const [x1, y1, x2, y2] = box;
  const white = await sharp({ create: { width: x2 - x1, height: y2 - y1, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const img = sharp({ create: { width, height, channels: 3, background: '#101010' } }).composite([{ input: white, left: x1, top: y1 }]);
  // Orientation 6 means "turn 90° clockwise to display": store the upright picture turned the other way.
  if (opts.orientation === 6) return sharp(await img.png().toBuffer()).rotate(270).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  if (opts.orientation) throw new Error('spotPng supports orientation 6 only');
  return img.png().toBuffer();
}
