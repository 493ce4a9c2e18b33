// What each dialect asks: the instruction per task for chat models, Florence-2's task tokens, and an @region
// written in the model's own box syntax. Pure text, shared by the local model host and remote engines.
import { TASKS, usesBoxes, type Task } from '../../common/tasks';
import { LoupeError } from '../../common/errors';
import type { Dialect } from './index';
import { florenceLocTokens } from './florence2';
import type { Size } from './frames';
import { mm15BoxText } from './mm15';
import { qwenBoxText } from './qwen';
import { showUiBoxText } from './showui';
import { uiInstruction } from './ui-prompts';

export const FLORENCE_TASK_TOKENS: Partial<Record<Task, string>> = {
  caption: '<CAPTION>',
  'detailed-caption': '<MORE_DETAILED_CAPTION>',
  ocr: '<OCR>',
  'ocr-regions': '<OCR_WITH_REGION>',
  detect: '<OD>',
  ground: '<CAPTION_TO_PHRASE_GROUNDING>',
  'describe-region': '<REGION_TO_DESCRIPTION>',
  // Screens: Florence-2 has no UI training; its nearest tasks stand in (OCR regions are the text elements).
  'screen-summary': '<MORE_DETAILED_CAPTION>',
  'widget-caption': '<REGION_TO_DESCRIPTION>',
  'find-element': '<CAPTION_TO_PHRASE_GROUNDING>',
  'list-elements': '<OCR_WITH_REGION>',
};

/** What a detector (dialect `detections`) can be asked: its boxes, as objects or as UI elements. */
export const DETECTOR_TASKS: readonly Task[] = ['detect', 'list-elements'];

/**
 * The tasks a model can be asked with this dialect: Florence-2 those it has a task token for; chat models every
 * task, those with boxes only when they have a box dialect.
 */
export function dialectTasks(dialect: Dialect): Task[] {
  if (dialect === 'detections') return [...DETECTOR_TASKS];
  if (dialect === 'florence2') return TASKS.filter((t) => FLORENCE_TASK_TOKENS[t] !== undefined);
  return TASKS.filter((t) => dialect !== 'none' || !usesBoxes(t));
}

/** Whether the model reads the cell's prompt for this task; where it does not, the prompt would be silently lost. */
export function usesPrompt(dialect: Dialect, task: Task): boolean {
  if (dialect === 'detections') return false;
  if (dialect === 'florence2') return task === 'ground' || task === 'find-element';
  return task !== 'ocr-regions' && task !== 'detect' && task !== 'list-elements' && task !== 'widget-caption' && task !== 'tappable';
}

/** The text Florence-2's processor receives: the task token plus its input (a phrase, or a region's four <loc_N>). */
export function florencePrompt(task: Task, prompt: string, region?: { box: readonly number[]; size: Size }): string {
  const token = FLORENCE_TASK_TOKENS[task];
  if (!token) throw new LoupeError('task-unsupported', `Florence-2 does not answer free questions (@task ask); it runs fixed tasks: ${Object.keys(FLORENCE_TASK_TOKENS).join(', ')}`);
  if (task === 'ground' || task === 'find-element') {
    if (!prompt.trim()) throw new LoupeError('bad-input', `@task ${task} needs a phrase to find: write it as the prompt`);
    return token + prompt.trim();
  }
  if (task === 'describe-region' || task === 'widget-caption') {
    if (!region) throw new LoupeError('bad-input', `@task ${task} needs an @region [x1, y1, x2, y2]`);
    return token + florenceLocTokens(region.box, region.size);
  }
  return token;
}

/** Instruction text per task for chat models. Box syntax in prompts follows each model's own training format. */
export function chatInstruction(task: Task, prompt: string, dialect: Dialect, regionText: string | undefined): string {
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
      if (!p) throw new LoupeError('bad-input', '@task ground needs a phrase to find: write it as the prompt');
      return json ? `Locate ${p} in the image and output its bbox coordinates in JSON format with bbox_2d and label.` : dialect === 'mm15' ? `Where is ${p}? Answer with its box as [x1, y1, x2, y2].` : `Locate ${p} in the image and output its bounding box.`;
    case 'describe-region':
      if (!regionText) throw new LoupeError('bad-input', '@task describe-region needs an @region [x1, y1, x2, y2]');
      return `${p || 'Describe this region of the image'}: ${regionText}`;
    case 'screen-summary':
    case 'widget-caption':
    case 'tappable':
    case 'find-element':
    case 'list-elements':
      return uiInstruction(task, p, dialect, regionText);
  }
}

/** A box in original pixels in the dialect's own syntax, for referring prompts. */
export function regionText(box: readonly number[], size: Size, modelSize: Size, dialect: Dialect): string {
  return dialect === 'mm15' ? mm15BoxText(box, size) : dialect === 'showui' ? showUiBoxText(box, size) : qwenBoxText(box, size, modelSize, dialect);
}
