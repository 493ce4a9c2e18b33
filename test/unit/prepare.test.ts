// Florence-2's fixed input size: the model host resizes with sharp to the processor's 768×768 in the same libvips
// operation transformers.js uses in Node (images/prepare.ts), so pixel_values equal the full-image path's.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { florence2 } from '../../src/engine/local/families/florence2';
import { prepareImage } from '../../src/images/prepare';

// Florence-2-base-ft's preprocessor_config.json, the parts the image processor reads.
const CONFIG = {
  image_processor_type: 'CLIPImageProcessor',
  do_resize: true,
  size: { height: 768, width: 768 },
  resample: 3,
  do_center_crop: false,
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.485, 0.456, 0.406],
  image_std: [0.229, 0.224, 0.225],
};

test('Florence-2 images are sized by sharp to exactly what the processor would make from the full image', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@huggingface/transformers') as typeof import('@huggingface/transformers');
  const processor = new tf.CLIPImageProcessor(CONFIG as never) as unknown as (img: unknown) => Promise<{ pixel_values: { data: Float32Array; dims: number[] } }>;
  // A detailed photo-like image larger than the input size (noise and edges: aliasing would show).
  const w = 3000;
  const h = 2000;
  const raw = Buffer.alloc(w * h * 3);
  let s = 12345;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x = Math.floor(i / 3) % w;
    raw[i] = ((x >> 4) & 1 ? 200 : 40) + (s >>> 28);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'loupe-prepare-')), 'photo.jpg');
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);

  const limits = florence2.imageLimits(1280, CONFIG);
  assert.deepEqual(limits, { exactSize: { width: 768, height: 768, resample: 3 } });
  const p = await prepareImage({ source: 'photo.jpg', path: file }, { maxPixels: 50_000_000, ...limits });
  assert.deepEqual([p.width, p.height, p.pixelWidth, p.pixelHeight], [w, h, 768, 768]);
  const ours = await processor(new tf.RawImage(new Uint8ClampedArray(p.rgb.buffer, p.rgb.byteOffset, p.rgb.length), 768, 768, 3));
  const full = await processor(await tf.RawImage.read(file));
  assert.deepEqual(ours.pixel_values.dims, full.pixel_values.dims);
  // Within rounding: at most one 8-bit level apart anywhere (in normalized units, 1/255/std).
  const level = 1 / 255 / Math.min(...CONFIG.image_std);
  let max = 0;
  for (let i = 0; i < ours.pixel_values.data.length; i++) max = Math.max(max, Math.abs(ours.pixel_values.data[i]! - full.pixel_values.data[i]!));
  assert.ok(max <= level + 1e-6, `pixel_values differ by ${(max / level).toFixed(2)} levels`);
});

test('a model without a fixed input size keeps the 2048 px bound', () => {
  assert.deepEqual(florence2.imageLimits(1280, {}), { maxSide: 2048 });
  assert.deepEqual(florence2.imageLimits(1280, { ...CONFIG, do_resize: false }), { maxSide: 2048 });
});
