// Instructions for the screen tasks, per dialect: the phrasing each family was trained on for UI screens
// (Qwen2-VL tags, Qwen2.5-VL/Qwen3-VL JSON, Ferret-UI/MM1.5 plain boxes, ShowUI 0–1 points).
import { LoupeError } from '../../common/errors';
import type { Task } from '../../common/tasks';
import type { Dialect } from './index';

type ScreenTask = Extract<Task, 'screen-summary' | 'widget-caption' | 'tappable' | 'find-element' | 'list-elements'>;

export function uiInstruction(task: ScreenTask, p: string, dialect: Dialect, regionText: string | undefined): string {
  const json = dialect === 'qwen2_5_vl' || dialect === 'qwen3_vl';
  const needRegion = () => {
    if (!regionText) throw new LoupeError('bad-input', `@task ${task} needs an @region [x1, y1, x2, y2] around the UI element`);
    return regionText;
  };
  switch (task) {
    case 'screen-summary':
      return p || 'Summarize this screen: what app or page it is, what it shows and what the user can do here, in two sentences.';
    case 'widget-caption':
      // Ferret-UI's widget captioning asks for the element's function.
      return dialect === 'mm15' ? `What is the function of the widget ${needRegion()}? Answer in a few words.` : `Describe the function of the UI element ${needRegion()} in a few words.`;
    case 'tappable':
      return dialect === 'mm15' ? `Is the widget ${needRegion()} tappable? Answer yes or no.` : `Is the UI element ${needRegion()} tappable (can the user tap or click it)? Answer yes or no.`;
    case 'find-element':
      if (!p) throw new LoupeError('bad-input', '@task find-element needs a description of the element to find: write it as the prompt');
      if (json) return `Locate the UI element "${p}" in the screenshot and output its bbox coordinates in JSON format with bbox_2d and label.`;
      if (dialect === 'mm15') return `Find the widget: ${p}. Answer with its box as [x1, y1, x2, y2].`;
      // ShowUI's grounding prompt: a click point, relative 0–1.
      if (dialect === 'showui') return `Based on the screenshot, I give a text description and you give its corresponding location. The coordinate represents a clickable location [x, y] for an element, which is a relative coordinate on the screenshot, scaled from 0 to 1.\n${p}`;
      return `Locate the UI element "${p}" in the screenshot and output its bounding box.`;
    case 'list-elements':
      if (json) return 'Detect every UI element of this screen (buttons, text fields, text, icons, images, switches, links) and output them in JSON format with bbox_2d, type and text.';
      if (dialect === 'mm15') return 'Detect every widget on the screen. List each one as: type "text" [x1, y1, x2, y2], one per line.';
      if (dialect === 'showui') return 'Detect every UI element of this screenshot. List each one as: type "text" [x1, y1, x2, y2], with coordinates scaled from 0 to 1, one per line.';
      return 'Detect every UI element of this screen (buttons, text fields, text, icons, images, switches, links) and output the type, text and bounding box of each.';
  }
}
