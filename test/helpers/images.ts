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

/**
 * A little-endian TIFF of `pages` pages, one sample per pixel of `bits`-bit IEEE floats: libvips reads 32-bit float
 * TIFFs and refuses 64-bit ones (as a "corrupt header").
 */
export function floatTiff(width: number, height: number, pages = 2, bits: 32 | 64 = 64): Buffer {
  const bytes = bits / 8;
  const entries = 10;
  const ifdSize = 2 + entries * 12 + 4;
  const dataSize = width * height * bytes;
  const pageSize = ifdSize + dataSize;
  const buf = Buffer.alloc(8 + pages * pageSize);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  for (let p = 0; p < pages; p++) {
    const ifd = 8 + p * pageSize;
    const data = ifd + ifdSize;
    let o = ifd;
    buf.writeUInt16LE(entries, o);
    o += 2;
    const tag = (t: number, type: 3 | 4, value: number) => {
      buf.writeUInt16LE(t, o);
      buf.writeUInt16LE(type, o + 2);
      buf.writeUInt32LE(1, o + 4);
      if (type === 3) buf.writeUInt16LE(value, o + 8);
      else buf.writeUInt32LE(value, o + 8);
      o += 12;
    };
    // width, height, bits per sample, no compression, black is zero, strip offset, 1 sample, rows per strip, strip bytes, IEEE float
    tag(256, 4, width);
    tag(257, 4, height);
    tag(258, 3, bits);
    tag(259, 3, 1);
    tag(262, 3, 1);
    tag(273, 4, data);
    tag(277, 3, 1);
    tag(278, 4, height);
    tag(279, 4, dataSize);
    tag(339, 3, 3);
    buf.writeUInt32LE(p + 1 < pages ? 8 + (p + 1) * pageSize : 0, o);
    for (let i = 0; i < width * height; i++) {
      if (bits === 64) buf.writeDoubleLE(i / (width * height), data + i * 8);
      else buf.writeFloatLE(i / (width * height), data + i * 4);
    }
  }
  return buf;
}
