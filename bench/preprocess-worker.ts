// B3: a 12-megapixel JPEG to model inputs, Loupe's path (sharp pre-resize in prepareImage, then the
// processor) against the full image handed to transformers.js (RawImage.read, then the processor).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { FAMILIES } from '../src/engine/local/families';
import type { Processor, Tensor } from '../src/engine/local/families/types';
import { prepareImage } from '../src/images/prepare';
import { ROOT } from './common';

const MAX_IMAGE_TOKENS = 1280; // loupe.maxImageTokens default
const MAX_IMAGE_PIXELS = 50_000_000;

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@huggingface/transformers') as typeof import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  const out = join(ROOT, 'bench', '.out');
  mkdirSync(out, { recursive: true });
  const photo = join(out, 'photo-12mp.jpg');
  const src = join(import.meta.dirname, '..', 'examples', 'images', 'rocket.jpg');
  const fallback = join(ROOT, 'examples', 'images', 'coffee.png');
  const { existsSync } = await import('node:fs');
  const info = await sharp(existsSync(src) ? src : fallback).resize(4240, 2832, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(photo);

  const results: Record<string, unknown> = { image: { width: info.width, height: info.height, bytes: info.size, source: existsSync(src) ? 'rocket.jpg' : 'coffee.png' } };
  for (const family of ['florence2', 'qwen2_vl'] as const) {
    const folder = join(ROOT, 'test', 'fixtures', 'models', family === 'florence2' ? 'tiny-florence2' : 'tiny-qwen2vl');
    const processor = (await tf.AutoProcessor.from_pretrained(folder, { local_files_only: true } as never)) as unknown as Processor;
    const fam = FAMILIES[family];
    const toInputs = async (raw: unknown): Promise<Record<string, Tensor>> => {
      if (family === 'florence2') return processor(raw, '<CAPTION>');
      const text = processor.apply_chat_template([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Describe this image.' }] }], { add_generation_prompt: true });
      return processor(text, [raw]);
    };
    const tokens = (inp: Record<string, Tensor>) => {
      if (family === 'florence2') return Number(processor.image_processor?.config?.image_seq_length ?? 577);
      const g = (inp.image_grid_thw!.tolist()[0] as (number | bigint)[]).map(Number);
      return (g[0]! * g[1]! * g[2]!) / 4;
    };
    const loupe = async () => {
      const t0 = performance.now();
      const limits = fam.imageLimits(MAX_IMAGE_TOKENS, processor.image_processor?.config ?? {});
      const p = await prepareImage({ path: photo, source: 'photo-12mp.jpg' }, { maxPixels: MAX_IMAGE_PIXELS, ...limits });
      const raw = new tf.RawImage(new Uint8ClampedArray(p.rgb.buffer, p.rgb.byteOffset, p.rgb.length), p.pixelWidth, p.pixelHeight, 3);
      const inp = await toInputs(raw);
      return { ms: performance.now() - t0, tokens: tokens(inp), size: `${p.pixelWidth}×${p.pixelHeight}`, inputIds: inp.input_ids?.dims.at(-1) ?? 0, pv: inp.pixel_values };
    };
    const full = async () => {
      const t0 = performance.now();
      const raw = await tf.RawImage.read(photo);
      const inp = await toInputs(raw);
      return { ms: performance.now() - t0, tokens: tokens(inp), size: `${raw.width}×${raw.height}`, inputIds: inp.input_ids?.dims.at(-1) ?? 0, pv: inp.pixel_values };
    };
    // Faster but not the same pixels: sharp's resize with JPEG shrink-on-load (antialiased, as PIL's resize is; the
    // full path point-samples with an affine bicubic), for Florence-2's fixed input size.
    const size = (processor.image_processor?.config?.size ?? {}) as { width?: number; height?: number };
    const proposed = async () => {
      const t0 = performance.now();
      const { data, info } = await sharp(photo, { failOn: 'error' }).autoOrient().toColourspace('srgb').removeAlpha()
        .resize(size.width ?? 768, size.height ?? 768, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer({ resolveWithObject: true });
      const inp = await toInputs(new tf.RawImage(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height, 3));
      return { ms: performance.now() - t0, tokens: tokens(inp), size: `${info.width}×${info.height}`, inputIds: inp.input_ids?.dims.at(-1) ?? 0, pv: inp.pixel_values };
    };
    // pixel_values against the full path, in 8-bit levels (normalized units × std × 255).
    const diff = (a: Tensor, b: Tensor) => {
      const x = (a as unknown as { data: Float32Array }).data;
      const y = (b as unknown as { data: Float32Array }).data;
      const std = Math.min(...((processor.image_processor?.config?.image_std as number[] | undefined) ?? [1]));
      let max = 0;
      let sum = 0;
      for (let i = 0; i < x.length; i++) {
        const d = Math.abs(x[i]! - y[i]!);
        max = Math.max(max, d);
        sum += d;
      }
      return { max: max * std * 255, mean: (sum / x.length) * std * 255, same: x.length === y.length };
    };
    const w1 = await loupe(); // warm-up: first-use costs (sharp, processor code paths); and the pixel check
    const w2 = await full();
    const loupeVsFull = diff(w1.pv!, w2.pv!);
    const proposedVsFull = family === 'florence2' ? diff((await proposed()).pv!, w2.pv!) : undefined;
    const l: Awaited<ReturnType<typeof loupe>>[] = [];
    const f: Awaited<ReturnType<typeof full>>[] = [];
    const pr: Awaited<ReturnType<typeof full>>[] = [];
    for (let i = 0; i < runs; i++) {
      l.push(await loupe());
      f.push(await full());
      if (family === 'florence2') pr.push(await proposed());
    }
    const strip = <T extends { pv?: unknown }>(r: T) => ({ ...r, pv: undefined });
    results[family] = { loupe: l.map(strip), full: f.map(strip), proposed: pr.map(strip), limits: fam.imageLimits(MAX_IMAGE_TOKENS, processor.image_processor?.config ?? {}), loupeVsFull, proposedVsFull };
  }
  process.send!({ type: 'result', ...results, maxImageTokens: MAX_IMAGE_TOKENS });
}

main().catch((e) => {
  process.send?.({ type: 'error', message: String((e as Error)?.stack ?? e) });
  process.exit(1);
});
