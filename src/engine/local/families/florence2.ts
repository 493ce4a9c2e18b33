// Florence-2: one image, fixed task tokens (engine/dialects/prompts.ts), answers with <loc_N> bins.
import { LoupeError } from '../../../common/errors';
import { TASKS } from '../../../common/tasks';
import { FLORENCE_TASK_TOKENS, florencePrompt } from '../../dialects/prompts';
import type { Built, BuildContext, FamilyModule, Processor, Tensor } from './types';

export const florence2: FamilyModule = {
  family: 'florence2',
  modelTypes: { florence2: 'florence2' },
  modelClass: 'AutoModelForImageTextToText',
  modules: ['vision_encoder', 'embed_tokens', 'encoder_model', 'decoder_model_merged'],
  tasks: TASKS.filter((t) => FLORENCE_TASK_TOKENS[t] !== undefined),
  multiImage: false,
  needsImage: true,
  // The processor works at a fixed size (768×768): sharp resizes to it as the processor would (images/prepare.ts),
  // so a 12 MP photo never goes through JavaScript at full size.
  imageLimits: (_tokens, config) => {
    const size = (config.size ?? {}) as { width?: number; height?: number };
    if (!size.width || !size.height || config.do_resize === false) return { maxSide: 2048 };
    return { exactSize: { width: size.width, height: size.height, resample: Number(config.resample ?? 2) } };
  },

  async build(ctx: BuildContext): Promise<Built> {
    if (ctx.images.length !== 1) throw new LoupeError('task-unsupported', 'Florence-2 reads one image at a time');
    const r = ctx.regions[0];
    const text = florencePrompt(ctx.task, ctx.prompt, r ? { box: r.box, size: ctx.images[r.image - 1]! } : undefined);
    const inputs = await ctx.processor(ctx.images[0]!.raw, text);
    const size = (ctx.processor.image_processor?.config?.size ?? {}) as { height?: number; width?: number };
    return { inputs, modelSizes: [{ width: size.width ?? 768, height: size.height ?? 768 }] };
  },

  decode(processor: Processor, ids: Tensor): string {
    return processor.batch_decode(ids, { skip_special_tokens: false })[0] ?? '';
  },
};
