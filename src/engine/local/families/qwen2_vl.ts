// Qwen2-VL, Qwen2.5-VL and Qwen3-VL: chat models that ground, each in its own box dialect.
import { chatFamily } from './chat';
import type { BuildContext, Model, Tensor } from './types';

type TF = typeof import('@huggingface/transformers');
type RopeIndex = (ids: unknown, mask: { dims: number[] } | null) => [unknown, { data: BigInt64Array; dims: number[] }];

/**
 * transformers.js 4.3.1 computes Qwen2-VL's text-only mrope delta as max + 1 + length, where the reference
 * implementation has max + 1 − length: prompts without an image then decode at shifted positions.
 * Probed first, so a fixed library is left alone.
 */
export function fixTextOnlyRope(model: Model, tf: TF): void {
  const m = model as unknown as { _get_text_only_rope_index?: RopeIndex };
  const original = m._get_text_only_rope_index?.bind(model);
  if (!original) return;
  const probe = original(null, new tf.Tensor('int64', new BigInt64Array([1n, 1n, 1n]), [1, 3]) as never);
  const shift = probe[1].data[0]! - 0n;
  if (shift !== 6n) return;
  m._get_text_only_rope_index = (ids, mask) => {
    const [positions, deltas] = original(ids, mask);
    if (!mask) return [positions, deltas];
    const twice = 2n * BigInt(mask.dims.at(-1)!);
    return [positions, new tf.Tensor('int64', BigInt64Array.from(deltas.data, (d) => d - twice), deltas.dims) as never];
  };
}

/**
 * transformers.js's Qwen2-VL image processor stacks a list of images as frames of one video (one grid),
 * so several images are processed one by one and joined the way the model expects: patches and grids
 * concatenated, and each image placeholder expanded to that image's token count.
 */
async function qwenMultiImage(ctx: BuildContext, text: string): Promise<Record<string, Tensor>> {
  const ip = ctx.processor.image_processor!;
  const per: Record<string, Tensor>[] = [];
  for (const img of ctx.images) per.push(await ip(img.raw));
  const merge = Number(ip.config?.merge_size ?? 2) ** 2;
  let i = 0;
  const expanded = text.replace(/<\|image_pad\|>/g, () => {
    const grid = (per[i++]!.image_grid_thw!.tolist()[0] as (number | bigint)[]).map(Number);
    return '<|image_pad|>'.repeat(Math.floor((grid[0]! * grid[1]! * grid[2]!) / merge));
  });
  return {
    ...ctx.processor.tokenizer(expanded),
    pixel_values: ctx.cat(per.map((p) => p.pixel_values!), 0),
    image_grid_thw: ctx.cat(per.map((p) => p.image_grid_thw!), 0),
  };
}

export const qwen2vl = chatFamily({
  family: 'qwen2_vl',
  modelTypes: { qwen2_vl: 'qwen2_vl', qwen2_5_vl: 'qwen2_5_vl', qwen3_vl: 'qwen3_vl' },
  pixelsPerToken: (cfg) => {
    const patch = Number(cfg.patch_size ?? 14);
    const merge = Number(cfg.merge_size ?? 2);
    return (patch * merge) ** 2;
  },
  patch: fixTextOnlyRope,
  multiImage: qwenMultiImage,
});

