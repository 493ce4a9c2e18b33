// Florence-2: one image, fixed task tokens, answers with <loc_N> bins.
import type { Task } from '../../../common/result';
import { florenceLocTokens, parseFlorence } from '../../dialects/florence2';
import { TaskRefused, type Built, type BuildContext, type FamilyModule, type Parsed, type ParseContext, type Processor, type Tensor } from './types';

export const FLORENCE_TASK_TOKENS: Partial<Record<Task, string>> = {
  caption: '<CAPTION>',
  'detailed-caption': '<MORE_DETAILED_CAPTION>',
  ocr: '<OCR>',
  'ocr-regions': '<OCR_WITH_REGION>',
  detect: '<OD>',
  ground: '<CAPTION_TO_PHRASE_GROUNDING>',
  'describe-region': '<REGION_TO_DESCRIPTION>',
};

/** The text Florence-2's processor receives for a task: the task token plus its input, if any. */
export function florencePrompt(ctx: Pick<BuildContext, 'task' | 'prompt' | 'regions' | 'images'>): string {
  const token = FLORENCE_TASK_TOKENS[ctx.task];
  if (!token) throw new TaskRefused(`Florence-2 does not answer free questions (@task ask); it runs fixed tasks: ${Object.keys(FLORENCE_TASK_TOKENS).join(', ')}`);
  if (ctx.task === 'ground') {
    if (!ctx.prompt.trim()) throw new TaskRefused('@task ground needs a phrase to find: write it as the prompt');
    return token + ctx.prompt.trim();
  }
  if (ctx.task === 'describe-region') {
    const r = ctx.regions[0];
    if (!r) throw new TaskRefused('@task describe-region needs an @region [x1, y1, x2, y2]');
    const img = ctx.images[r.image - 1]!;
    return token + florenceLocTokens(r.box, img);
  }
  return token;
}

export const florence2: FamilyModule = {
  family: 'florence2',
  modules: ['vision_encoder', 'embed_tokens', 'encoder_model', 'decoder_model_merged'],
  tasks: ['caption', 'detailed-caption', 'ocr', 'ocr-regions', 'detect', 'ground', 'describe-region'],
  multiImage: false,
  // The processor resizes to 768×768 itself; shrinking huge photos first only saves time.
  imageLimits: () => ({ maxSide: 2048 }),

  async build(ctx: BuildContext): Promise<Built> {
    if (ctx.images.length !== 1) throw new TaskRefused('Florence-2 reads one image at a time');
    const text = florencePrompt(ctx);
    const inputs = await ctx.processor(ctx.images[0]!.raw, text);
    const size = (ctx.processor.image_processor?.config?.size ?? {}) as { height?: number; width?: number };
    return { inputs, cutPrompt: false, taskToken: FLORENCE_TASK_TOKENS[ctx.task]!, modelSizes: [{ width: size.width ?? 768, height: size.height ?? 768 }] };
  },

  decode(processor: Processor, ids: Tensor): string {
    return processor.batch_decode(ids, { skip_special_tokens: false })[0] ?? '';
  },

  parse(raw: string, ctx: ParseContext): Parsed {
    const img = ctx.images[0]!;
    const structured = ctx.task === 'ocr-regions' || ctx.task === 'detect' || ctx.task === 'ground';
    if (!structured) {
      // Text tasks: location tokens are not expected; strip markup and keep the words.
      return { text: raw.replace(/<\/?s>|<pad>/g, '').replace(/<loc_\d+>/g, '').trim(), regions: [], warnings: [] };
    }
    return parseFlorence(raw, img, { quads: ctx.task === 'ocr-regions' });
  },
};
