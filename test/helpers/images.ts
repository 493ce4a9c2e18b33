// Generated image inputs for tests: bad files and unusual encodings, made with sharp and by hand.
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** The example images (examples/images) and two more grayscale ones (test/fixtures/images), all in the repository. */
export const EXAMPLE_IMAGES = new URL('../../examples/images/', import.meta.url).pathname;
export const TEST_IMAGE_DIRS = [EXAMPLE_IMAGES, new URL('../fixtures/images/', import.meta.url).pathname];

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid-looking PNG that declares width×height pixels but carries a tiny compressed row. */
export function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A landscape JPEG (w×h) stored with EXIF orientation 6: viewers show it rotated, h×w. */
export async function exifRotatedJpeg(src: string, orientation = 6): Promise<Buffer> {
  return sharp(src).jpeg().withMetadata({ orientation }).toBuffer();
}

export async function sixteenBitPng(src: string): Promise<Buffer> {
  return sharp(src).toColourspace('rgb16').png().toBuffer();
}

export async function cmykJpeg(src: string): Promise<Buffer> {
  return sharp(src).toColourspace('cmyk').jpeg().toBuffer();
}

export async function palettePng(src: string): Promise<Buffer> {
  return sharp(src).png({ palette: true, colours: 16 }).toBuffer();
}

export async function animatedGif(width = 40, height = 30, frames = 3): Promise<Buffer> {
  const colours = [
    { r: 255, g: 0, b: 0 },
    { r: 0, g: 255, b: 0 },
    { r: 0, g: 0, b: 255 },
  ];
  const pngs = await Promise.all(
    Array.from({ length: frames }, (_, i) => sharp({ create: { width, height, channels: 3, background: colours[i % 3]! } }).png().toBuffer()),
  );
  return sharp(pngs, { join: { animated: true } }).gif().toBuffer();
}
