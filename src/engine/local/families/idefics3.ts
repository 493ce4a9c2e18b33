// SmolVLM (Idefics3) and SmolVLM2: small chat models for questions, captions and OCR over several images, and (SmolVLM2)
// video; they write no boxes. transformers.js 4.3.1 has no video path for them in Node, so frames go in as images
// with SmolVLM2's own video prompt, built here as its Python processor builds it.
import { hmsDuration, mmss, numberWords } from '../../../common/video';
import { chatFamily } from './chat';
import type { BuildContext, Tensor } from './types';

/** Stands for the video in the templated text until the frames' prompt replaces it (never in user text). */
const VIDEO_SLOT = '\u0000loupe-video\u0000';

/**
 * SmolVLM2's video prompt (transformers' processing_smolvlm.py): "You are provided the following series of {N in
 * words} frames from a {H:MM:SS} [H:MM:SS] video.\n", then per frame "\nFrame from {MM:SS}:" and the frame's image
 * tokens (one unsplit image each), then "\n\n" and the question.
 */
export function smolvlmVideoText(video: { duration: number; times: number[] }, imageToken = '<image>'): string {
  const intro = `You are provided the following series of ${numberWords(video.times.length)} frames from a ${hmsDuration(video.duration)} [H:MM:SS] video.\n`;
  return intro + video.times.map((t) => `\nFrame from ${mmss(t)}:${imageToken}`).join('') + '\n\n';
}

async function inputs(ctx: BuildContext, text: string): Promise<Record<string, Tensor>> {
  // The processor needs at least one image (it reads the images' rows and columns even without any).
  if (!ctx.images.length) return ctx.processor.tokenizer(text);
  // Video frames are never split into tiles (SmolVLM2 and MM1.5 both turn splitting off for video): 64 tokens each.
  return ctx.processor(text, ctx.images.map((i) => i.raw), ctx.video ? { do_image_splitting: false } : {});
}

export const idefics3 = chatFamily({
  family: 'idefics3',
  modelTypes: { idefics3: 'none', smolvlm: 'none' },
  inputs,
  videoPrompt: (ctx, instruction) => ({
    content: [{ type: 'text', text: VIDEO_SLOT + instruction }],
    expand: (text) => text.replace(VIDEO_SLOT, smolvlmVideoText(ctx.video!)),
  }),
});
