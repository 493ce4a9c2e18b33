// Box and point dialects: how each model family writes regions in its answers and reads them in prompts.
// Pure functions over text and sizes, usable in any process: the runner parses every engine's answers here.
import type { Region } from '../../common/result';
import { taskSpec, type Task } from '../../common/tasks';
import { parseFlorence } from './florence2';
import type { Size } from './frames';
import { parseMm15 } from './mm15';
import { parseQwen } from './qwen';
import { parseShowUi } from './showui';
import { parseDetections } from './detections';
import { asElements } from './elements';

export const DIALECTS = ['florence2', 'qwen2_vl', 'qwen2_5_vl', 'qwen3_vl', 'mm15', 'showui', 'detections', 'none'] as const;
/**
 * How a model writes boxes: Florence-2 bins, Qwen2-VL tags (0–1000), Qwen2.5-VL JSON in resized pixels, Qwen3-VL JSON
 * (0–1000), MM1.5/Ferret text (0–999), ShowUI text (0–1), a detector's JSON in original pixels, or not at all.
 */
export type Dialect = (typeof DIALECTS)[number];

export interface Parsed {
  /** The answer with markup turned into plain text. */
  text: string;
  regions: Region[];
  warnings: string[];
}

/** What the parser needs to know about the images a run saw. */
export interface AnswerGeometry {
  /** Natural size of each image (original pixels, upright). */
  images: Size[];
  /** The size each image was resized to for the model (Qwen2.5-VL answers in these pixels). */
  modelSizes: Size[];
}

const FLORENCE_SPECIAL = /<\/?s>|<pad>/g;
const CHAT_END = /<\|im_end\|>|<\|endoftext\|>|<end_of_utterance>|<\/s>|<\|end\|>|<eos>/g;

/** Turns a raw answer into text and regions in original pixels, the way the dialect and the task call for. */
export function parseAnswer(dialect: Dialect, task: Task, raw: string, g: AnswerGeometry): Parsed {
  const parsed = parseRegions(dialect, task, raw, g);
  // UI elements carry a type and their text, whichever dialect wrote them.
  return task === 'list-elements' ? { ...parsed, regions: asElements(parsed.regions) } : parsed;
}

/** A generation's answer, parsed against its images as they were and as the model saw them. */
export function parseGeneration(dialect: Dialect, task: Task, gen: { raw: string; images: (Size & { modelWidth: number; modelHeight: number })[] }): Parsed {
  return parseAnswer(dialect, task, gen.raw, { images: gen.images, modelSizes: gen.images.map((i) => ({ width: i.modelWidth, height: i.modelHeight })) });
}

function parseRegions(dialect: Dialect, task: Task, raw: string, g: AnswerGeometry): Parsed {
  const spec = taskSpec(task);
  if (dialect === 'detections') return g.images[0] ? parseDetections(raw, g.images[0]) : { text: raw, regions: [], warnings: [] };
  if (dialect === 'florence2') {
    // Text tasks: location tokens are not expected; strip markup and keep the words.
    if (spec.regions !== 'answer' || !g.images[0]) return { text: raw.replace(FLORENCE_SPECIAL, '').replace(/<loc_\d+>/g, '').trim(), regions: [], warnings: [] };
    return parseFlorence(raw, g.images[0], { quads: task === 'ocr-regions' || task === 'list-elements' });
  }
  const text = raw.replace(CHAT_END, '');
  const wantsRegions = spec.regions === 'answer' || spec.regions === 'maybe';
  if (dialect === 'none' || !wantsRegions || !g.images[0]) return { text: text.trim(), regions: [], warnings: [] };
  const parsed = dialect === 'mm15' ? parseMm15(text, g.images[0]) : dialect === 'showui' ? parseShowUi(text, g.images[0]) : parseQwen(text, g.images[0], g.modelSizes[0] ?? g.images[0], dialect);
  if (g.images.length > 1 && parsed.regions.length) {
    // A box in an answer about several images does not say which image it is on.
    const n = parsed.regions.length;
    return { text: parsed.text, regions: [], warnings: [...parsed.warnings, `${n} box${n === 1 ? '' : 'es'} not drawn: the answer covers ${g.images.length} images and does not say which image each box is on`] };
  }
  return parsed;
}
