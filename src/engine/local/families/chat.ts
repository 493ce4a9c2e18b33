// Chat-template families (Qwen2-VL and its successors, SmolVLM/Idefics3): all images in one prompt, tasks written
// as instructions (engine/dialects/prompts.ts), boxes in the model's dialect.
import { TASKS, usesBoxes } from '../../../common/tasks';
import { LoupeError } from '../../../common/errors';
import { chatInstruction, regionText } from '../../dialects/prompts';
import type { Size } from '../../dialects/frames';
import { frameHeading, framesIntro } from '../../../common/video';
import type { Built, BuildContext, FamilyModule, Processor, Tensor } from './types';

interface ChatOptions {
  family: string;
  modelTypes: FamilyModule['modelTypes'];
  /** Pixels covered by one image token (Qwen2-VL: 28×28); undefined where tokens do not scale with area. */
  pixelsPerToken?: (config: Record<string, unknown>) => number;
  patch?: FamilyModule['patch'];
  /** Builds the processor inputs for several images, where the library's processor gets them wrong. */
  multiImage?: (ctx: BuildContext, text: string) => Promise<Record<string, Tensor>>;
  /** Builds the processor inputs for every prompt, where the library's processor needs help (no image, video frames). */
  inputs?: (ctx: BuildContext, text: string) => Promise<Record<string, Tensor>>;
  /** The family's own video prompt: the message content for frames with their times, and what to expand after templating. */
  videoPrompt?: (ctx: BuildContext, instruction: string) => { content: unknown[]; expand?: (text: string) => string };
}

/**
 * Frames of a clip for chat families without a video prompt of their own (Qwen2-VL): a line with the clip's length,
 * then each frame after a line with its time, then the instruction.
 */
export function timestampedFrames(ctx: BuildContext, instruction: string): { content: unknown[]; expand?: (text: string) => string } {
  const v = ctx.video!;
  const n = ctx.images.length;
  const content: unknown[] = [{ type: 'text', text: framesIntro(n, v.duration) }];
  ctx.images.forEach((_, i) => content.push({ type: 'text', text: frameHeading(v.times[i] ?? 0) }, { type: 'image' }));
  content.push({ type: 'text', text: `\n${instruction}` });
  return { content };
}

export function chatFamily(opts: ChatOptions): FamilyModule {
  return {
    family: opts.family,
    modelTypes: opts.modelTypes,
    modelClass: 'AutoModelForImageTextToText',
    modules: ['vision_encoder', 'embed_tokens', 'decoder_model_merged'],
    // Every task: those with boxes need a box dialect, which idefics3 models have only when a user names one (mm15).
    tasks: TASKS,
    multiImage: true,
    needsImage: false,
    ...(opts.patch ? { patch: opts.patch } : {}),
    imageLimits(maxImageTokens, config) {
      if (!opts.pixelsPerToken) return { maxSide: 2048 };
      return { maxArea: maxImageTokens * opts.pixelsPerToken(config) };
    },

    async build(ctx: BuildContext): Promise<Built> {
      if (usesBoxes(ctx.task) && ctx.dialect === 'none') throw new LoupeError('task-unsupported', 'this model does not answer with boxes');
      const r = ctx.regions[0];
      let preSizes: Size[] | undefined;
      if (r && ctx.dialect === 'qwen2_5_vl' && ctx.processor.image_processor) {
        // Qwen2.5-VL boxes are in pixels of the resized input, known only after its image processor ran.
        const pre = await ctx.processor.image_processor(ctx.images.map((i) => i.raw));
        preSizes = sizesFromGrid(pre.image_grid_thw, ctx, ctx.processor);
      }
      const refer = r ? regionText(r.box, ctx.images[r.image - 1]!, preSizes?.[r.image - 1] ?? ctx.images[r.image - 1]!, ctx.dialect) : undefined;
      const instruction = chatInstruction(ctx.task, ctx.prompt, ctx.dialect, refer);
      const video = ctx.video && ctx.images.length ? (opts.videoPrompt ?? timestampedFrames)(ctx, instruction) : undefined;
      const messages = [{ role: 'user', content: video?.content ?? [...ctx.images.map(() => ({ type: 'image' })), { type: 'text', text: instruction }] }];
      let text = ctx.processor.apply_chat_template(messages, { add_generation_prompt: true });
      if (video?.expand) text = video.expand(text);
      const inputs = opts.inputs
        ? await opts.inputs(ctx, text)
        : opts.multiImage && ctx.images.length > 1
          ? await opts.multiImage(ctx, text)
          : await ctx.processor(text, ctx.images.length ? ctx.images.map((i) => i.raw) : null);
      return { inputs, modelSizes: sizesFromGrid(inputs.image_grid_thw, ctx, ctx.processor) };
    },

    decode(processor: Processor, ids: Tensor, built: Built): string {
      // Decoder-only: the generated ids start with the prompt.
      const promptLen = built.inputs.input_ids!.dims.at(-1)!;
      return processor.batch_decode(ids.slice(null, [promptLen, null]), { skip_special_tokens: false })[0] ?? '';
    },
  };
}

/** Qwen processors report each image's patch grid; patch size × grid is the resized input. */
export function sizesFromGrid(grid: Tensor | undefined, ctx: BuildContext, processor: Processor): Size[] {
  const cfg = processor.image_processor?.config ?? {};
  const patch = Number(cfg.patch_size ?? 14);
  if (!grid) return ctx.images.map((i) => ({ width: i.pixelWidth, height: i.pixelHeight }));
  const rows = grid.tolist() as (number | bigint)[][];
  return rows.map((r) => ({ width: Number(r[2]) * patch, height: Number(r[1]) * patch }));
}
