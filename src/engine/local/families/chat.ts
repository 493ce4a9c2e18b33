// Chat-template families (Qwen2-VL and its successors, SmolVLM/Idefics3): all images in one prompt,
// tasks written as instructions, boxes in the dialect the registry entry names.
import type { BoxDialect, Family } from '../protocol';
import type { Task } from '../../../common/result';
import { mm15BoxText, parseMm15 } from '../../dialects/mm15';
import { parseQwen, qwenBoxText } from '../../dialects/qwen';
import type { Size } from '../../dialects/frames';
import { TaskRefused, type Built, type BuildContext, type FamilyModule, type Parsed, type ParseContext, type Processor, type Tensor } from './types';

const GROUNDING: readonly Task[] = ['ocr-regions', 'detect', 'ground', 'describe-region'];
const END_TOKENS = /<\|im_end\|>|<\|endoftext\|>|<end_of_utterance>|<\/s>|<\|end\|>|<eos>/g;

/** Instruction text per task and dialect. Box syntax in prompts follows each model's own training format. */
export function chatInstruction(task: Task, prompt: string, dialect: BoxDialect, regionText: string | undefined): string {
  const p = prompt.trim();
  const json = dialect === 'qwen2_5_vl' || dialect === 'qwen3_vl';
  switch (task) {
    case 'ask':
      return regionText ? `${p || 'What is in this region?'} Region: ${regionText}` : p;
    case 'caption':
      return p || 'Describe this image in one sentence.';
    case 'detailed-caption':
      return p || 'Describe this image in detail.';
    case 'ocr':
      return p || 'Read all the text in this image. Answer with the text only, line by line.';
    case 'ocr-regions':
      return json ? 'Spot all the text in the image at line level, and output in JSON format with bbox_2d and label (the text).' : dialect === 'mm15' ? 'Read each line of text in the image and give its box as [x1, y1, x2, y2].' : 'Read each line of text in the image and output the bounding box of each line.';
    case 'detect':
      return json ? 'Locate every object in the image and output their bbox coordinates in JSON format with bbox_2d and label.' : dialect === 'mm15' ? 'Name every object in the image with its box as [x1, y1, x2, y2].' : 'Detect every object in the image and output the bounding box of each.';
    case 'ground':
      if (!p) throw new TaskRefused('@task ground needs a phrase to find: write it as the prompt');
      return json ? `Locate ${p} in the image and output its bbox coordinates in JSON format with bbox_2d and label.` : dialect === 'mm15' ? `Where is ${p}? Answer with its box as [x1, y1, x2, y2].` : `Locate ${p} in the image and output its bounding box.`;
    case 'describe-region':
      if (!regionText) throw new TaskRefused('@task describe-region needs an @region [x1, y1, x2, y2]');
      return `${p || 'Describe this region of the image'}: ${regionText}`;
  }
}

export function regionText(box: readonly number[], size: Size, modelSize: Size, dialect: BoxDialect): string {
  return dialect === 'mm15' ? mm15BoxText(box, size) : qwenBoxText(box, size, modelSize, dialect);
}

interface ChatOptions {
  family: Family;
  grounding: boolean;
  /** Pixels covered by one image token (Qwen2-VL: 28×28); undefined where tokens do not scale with area. */
  pixelsPerToken?: (config: Record<string, unknown>) => number;
}

export function chatFamily(opts: ChatOptions): FamilyModule {
  return {
    family: opts.family,
    modules: ['vision_encoder', 'embed_tokens', 'decoder_model_merged'],
    tasks: opts.grounding ? ['ask', 'caption', 'detailed-caption', 'ocr', ...GROUNDING] : ['ask', 'caption', 'detailed-caption', 'ocr'],
    multiImage: true,
    imageLimits(maxImageTokens, config) {
      if (!opts.pixelsPerToken) return { maxSide: 2048 };
      return { maxArea: maxImageTokens * opts.pixelsPerToken(config) };
    },

    async build(ctx: BuildContext): Promise<Built> {
      if (!opts.grounding && GROUNDING.includes(ctx.task) && ctx.dialect !== 'mm15') throw new TaskRefused(`this model does not answer with boxes`);
      const r = ctx.regions[0];
      let preSizes: Size[] | undefined;
      if (r && ctx.dialect === 'qwen2_5_vl' && ctx.processor.image_processor) {
        // Qwen2.5-VL boxes are in pixels of the resized input, known only after its image processor ran.
        const pre = await ctx.processor.image_processor(ctx.images.map((i) => i.raw));
        preSizes = sizesFromGrid(pre.image_grid_thw, ctx, ctx.processor);
      }
      const refer = r ? regionText(r.box, ctx.images[r.image - 1]!, preSizes?.[r.image - 1] ?? ctx.images[r.image - 1]!, ctx.dialect) : undefined;
      const instruction = chatInstruction(ctx.task, ctx.prompt, ctx.dialect, refer);
      const messages = [{ role: 'user', content: [...ctx.images.map(() => ({ type: 'image' })), { type: 'text', text: instruction }] }];
      const text = ctx.processor.apply_chat_template(messages, { add_generation_prompt: true });
      const inputs = opts.family === 'qwen2_vl' && ctx.images.length > 1 ? await qwenMultiImage(ctx, text) : await ctx.processor(text, ctx.images.length ? ctx.images.map((i) => i.raw) : null);
      return { inputs, cutPrompt: true, modelSizes: sizesFromGrid(inputs.image_grid_thw, ctx, ctx.processor) };
    },

    decode(processor: Processor, ids: Tensor, built: Built): string {
      const promptLen = built.inputs.input_ids!.dims.at(-1)!;
      const fresh = ids.slice(null, [promptLen, null]);
      return (processor.batch_decode(fresh, { skip_special_tokens: false })[0] ?? '').replace(END_TOKENS, '');
    },

    parse(raw: string, ctx: ParseContext): Parsed {
      const wantsRegions = GROUNDING.includes(ctx.task) || ctx.task === 'ask';
      if (!wantsRegions || ctx.images.length === 0) return { text: raw.trim(), regions: [], warnings: [] };
      const parsed = ctx.dialect === 'mm15' ? parseMm15(raw, ctx.images[0]!) : parseQwen(raw, ctx.images[0]!, ctx.modelSizes[0] ?? ctx.images[0]!, ctx.dialect);
      if (ctx.images.length > 1 && parsed.regions.length) {
        // A box in an answer about several images does not say which image it is on.
        return { text: parsed.text, regions: [], warnings: [...parsed.warnings, `${parsed.regions.length} box${parsed.regions.length === 1 ? '' : 'es'} not drawn: the answer covers ${ctx.images.length} images and does not say which image each box is on`] };
      }
      return parsed;
    },
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

/** Qwen processors report each image's patch grid; patch size × grid is the resized input. */
function sizesFromGrid(grid: Tensor | undefined, ctx: BuildContext, processor: Processor): Size[] {
  const cfg = processor.image_processor?.config ?? {};
  const patch = Number(cfg.patch_size ?? 14);
  if (!grid) return ctx.images.map((i) => ({ width: i.pixelWidth, height: i.pixelHeight }));
  const rows = grid.tolist() as (number | bigint)[][];
  return rows.map((r) => ({ width: Number(r[2]) * patch, height: Number(r[1]) * patch }));
}

export const qwen2vl = chatFamily({
  family: 'qwen2_vl',
  grounding: true,
  pixelsPerToken: (cfg) => {
    const patch = Number(cfg.patch_size ?? 14);
    const merge = Number(cfg.merge_size ?? 2);
    return (patch * merge) ** 2;
  },
});

export const idefics3 = chatFamily({ family: 'idefics3', grounding: false });
