// The fallback image beside Loupe's result (for viewers without its renderer): photos as a small JPEG, everything
// else as a 256-colour PNG, so a cell with two photos stays within B12's 400 kB.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { compositeFallback } from '../../src/images/composite';

/** A noisy, photo-like opaque image as PNG (what load.ts hands over as displayPng). */
async function photo(w: number, h: number, seed: number, channels: 3 | 4 = 3): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * channels);
  let s = seed;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    raw[i] = channels === 4 && i % 4 === 3 ? 200 : ((i / channels / w) * 0.3 + (s >>> 26)) & 255;
  }
  return sharp(raw, { raw: { width: w, height: h, channels } }).png().toBuffer();
}

test('two photos: a JPEG no wider than 1024 px, much smaller than the PNG it replaces', async () => {
  const f = (await compositeFallback([await photo(741, 500, 1), await photo(1000, 872, 2)]))!;
  assert.equal(f.mime, 'image/jpeg');
  const meta = await sharp(f.data).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.ok(meta.width! <= 1024, `width ${meta.width}`);
  assert.ok(meta.width! > meta.height!, 'side by side');
  const png = await sharp(f.data).resize(meta.width! * 1.5).png({ palette: true }).toBuffer();
  assert.ok(f.data.length < png.length / 3, `${f.data.length} B`);
});

test('flat images and screenshots keep a crisp PNG; so does anything with transparency', async () => {
  const flat = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#3366cc' } }).png().toBuffer();
  const a = (await compositeFallback([flat, flat]))!;
  assert.equal(a.mime, 'image/png');
  const b = (await compositeFallback([await photo(500, 400, 3, 4)]))!;
  assert.equal(b.mime, 'image/png');
  assert.equal(await compositeFallback([]), undefined);
});
