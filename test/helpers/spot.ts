import sharp from 'sharp';

/** A dark PNG with one white rectangle [x1, y1, x2, y2): the fixtures' boxes follow the brightest region. */
export async function spotPng(width: number, height: number, box: [number, number, number, number], opts: { orientation?: number } = {}): Promise<Buffer> {
  const [x1, y1, x2, y2] = box;
  const white = await sharp({ create: { width: x2 - x1, height: y2 - y1, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const img = sharp({ create: { width, height, channels: 3, background: '#101010' } }).composite([{ input: white, left: x1, top: y1 }]);
  if (opts.orientation) return sharp(await img.png().toBuffer()).jpeg({ quality: 95 }).withMetadata({ orientation: opts.orientation }).toBuffer();
  return img.png().toBuffer();
}
