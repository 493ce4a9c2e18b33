// The task table: every `@task`, what it needs and how it runs. The parser, the families' capability checks,
// the runner, the grammar and the README read it; a new task is a new row here plus its prompt per dialect.

export interface TaskSpec {
  readonly name: string;
  /** Short name for menus and tables. */
  readonly label: string;
  /** One line for the README, completions and Select Model. */
  readonly description: string;
  /** One model run per image (fan-out), or one run that sees every image of the cell. */
  readonly runs: 'per-image' | 'all-images';
  /** The task has no meaning without an image. */
  readonly needsImage: boolean;
  /** The prompt text is the task's input (a phrase to find) and may not be empty. */
  readonly needsPrompt: boolean;
  /** The task asks about an `@region`. */
  readonly needsRegion: boolean;
  /**
   * Where boxes appear: in the answer (the model must write a box dialect), in the prompt (it must read one),
   * maybe in a free answer, or never.
   */
  readonly regions: 'answer' | 'prompt' | 'maybe' | 'none';
}

export const TASK_TABLE = [
  { name: 'ask', label: 'Ask', description: 'A free question about the images, or about an @region.', runs: 'all-images', needsImage: false, needsPrompt: false, needsRegion: false, regions: 'maybe' },
  { name: 'caption', label: 'Caption', description: 'One sentence about each image.', runs: 'per-image', needsImage: true, needsPrompt: false, needsRegion: false, regions: 'none' },
  { name: 'detailed-caption', label: 'Detailed caption', description: 'A paragraph about each image.', runs: 'per-image', needsImage: true, needsPrompt: false, needsRegion: false, regions: 'none' },
  { name: 'ocr', label: 'OCR', description: 'The text in each image, line by line.', runs: 'per-image', needsImage: true, needsPrompt: false, needsRegion: false, regions: 'none' },
  { name: 'ocr-regions', label: 'OCR with regions', description: 'Each line of text with its box.', runs: 'per-image', needsImage: true, needsPrompt: false, needsRegion: false, regions: 'answer' },
  { name: 'detect', label: 'Detect', description: 'Every object with its box.', runs: 'per-image', needsImage: true, needsPrompt: false, needsRegion: false, regions: 'answer' },
  { name: 'ground', label: 'Ground', description: 'A box around what the prompt names (the prompt is the phrase).', runs: 'per-image', needsImage: true, needsPrompt: true, needsRegion: false, regions: 'answer' },
  { name: 'describe-region', label: 'Describe region', description: 'What is inside an @region.', runs: 'all-images', needsImage: true, needsPrompt: false, needsRegion: true, regions: 'prompt' },
  // Screens (Ferret-UI / MM1.5-UI tasks).
  { name: 'screen-summary', label: 'Screen summary', description: 'What a screenshot shows and what it is for.', runs: 'per-image', needsImage: true, needsPrompt: false, needsRegion: false, regions: 'none' },
  { name: 'widget-caption', label: 'Widget caption', description: 'What the UI element in an @region is or does.', runs: 'all-images', needsImage: true, needsPrompt: false, needsRegion: true, regions: 'prompt' },
  { name: 'tappable', label: 'Tappable?', description: 'Whether the UI element in an @region can be tapped: yes or no.', runs: 'all-images', needsImage: true, needsPrompt: false, needsRegion: true, regions: 'prompt' },
  { name: 'find-element', label: 'Find element', description: 'A box or point on the UI element the prompt describes ("the Sign in button").', runs: 'per-image', needsImage: true, needsPrompt: true, needsRegion: false, regions: 'answer' },
  { name: 'list-elements', label: 'List elements', description: 'Every UI element of a screen with its type, text and box.', runs: 'per-image', needsImage: true, needsPrompt: false, needsRegion: false, regions: 'answer' },
] as const satisfies readonly TaskSpec[];

export type Task = (typeof TASK_TABLE)[number]['name'];
export const TASKS: readonly Task[] = TASK_TABLE.map((t) => t.name);
export const DEFAULT_TASK: Task = 'ask';

export function isTask(name: string): name is Task {
  return (TASKS as readonly string[]).includes(name);
}

export function taskSpec(task: Task): TaskSpec {
  return TASK_TABLE.find((t) => t.name === task)!;
}

/** Tasks that need a model able to write or read boxes (a box dialect other than `none`). */
export function usesBoxes(task: Task): boolean {
  const r = taskSpec(task).regions;
  return r === 'answer' || r === 'prompt';
}
