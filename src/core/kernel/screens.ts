// What the runner adds for screen tasks: the asked `@region` drawn with the answer (a tappable badge, a widget
// caption), and for `@task list-elements` on a detector, OCR text joined to the detector's boxes.
import { boxArea, boxIntersection } from '../../common/regions';
import type { Region } from '../../common/result';
import type { Task } from '../../common/tasks';
import { parseGeneration } from '../../engine/dialects';
import { tappableAnswer } from '../../engine/dialects/elements';
import type { Parsed } from '../../engine/dialects';
import type { Engine, EngineImage, EngineSet, GenerateRequest, LoadedModel, ModelHandle } from '../../engine/types';

/** `@task tappable` and `widget-caption` answer about the cell's region: it is drawn, labelled with the answer. */
export function askedRegions(task: Task, asked: GenerateRequest['regions'], answer: string, images: number[]): Region[] {
  if ((task !== 'tappable' && task !== 'widget-caption') || !asked[0]) return [];
  const r = asked[0];
  const image = images[r.image - 1] ?? images[0]!;
  if (task === 'widget-caption') return [{ image, label: answer.trim().split('\n')[0]!.slice(0, 80), kind: 'box', coords: [...r.box], span: [0, Math.min(answer.length, answer.trim().split('\n')[0]!.length)] }];
  const yes = tappableAnswer(answer);
  return [{ image, label: yes === undefined ? 'tappable?' : yes ? 'tappable' : 'not tappable', kind: 'box', coords: [...r.box], ...(yes === undefined ? {} : { tappable: yes }) }];
}


/**
 * Detector boxes and OCR lines as one element list: a line mostly inside a detected element becomes that element's
 * text (several lines joined in reading order); a line inside none is an element of type text; elements keep
 * their detector type (icon, button…) and score.
 */
export function combineElements(detected: Region[], lines: Region[]): Region[] {
  const texts = new Map<number, Region[]>();
  const loose: Region[] = [];
  for (const line of lines) {
    const lb = line.coords;
    let best = -1;
    let bestShare = 0;
    detected.forEach((d, i) => {
      const share = boxIntersection(lb, d.coords) / Math.max(1e-9, boxArea(lb));
      // The smallest element that holds most of the line: a button inside a card takes its own label.
      if (share >= 0.5 && (best < 0 || share > bestShare + 1e-9 || (Math.abs(share - bestShare) <= 1e-9 && boxArea(d.coords) < boxArea(detected[best]!.coords)))) [best, bestShare] = [i, share];
    });
    if (best >= 0) texts.set(best, [...(texts.get(best) ?? []), line]);
    else loose.push({ ...line, type: line.type ?? 'text' });
  }
  const out = detected.map((d, i) => {
    const own = (texts.get(i) ?? []).sort((a, b) => a.coords[1]! - b.coords[1]! || a.coords[0]! - b.coords[0]!);
    const text = own.map((l) => l.label).filter(Boolean).join(' ');
    const { span: _span, ...rest } = d;
    return { ...rest, type: d.type ?? d.label, label: text || (d.type ?? d.label) };
  });
  return [...out, ...loose.map(({ span: _span, ...rest }) => rest)];
}

/**
 * The model that reads text for a detector's element list: loupe.defaultModels' ocr-regions (or ocr) entry, else the
 * default model when it reads text with regions and is present (a local folder, or a registry model already
 * downloaded): a detector cell never starts a download of its own.
 */
async function ocrModelFor(engines: EngineSet, s: { defaultModel: string; defaultModels?: Partial<Record<Task, string>> }): Promise<{ ref?: string; why?: string }> {
  const explicit = s.defaultModels?.['ocr-regions'] ?? s.defaultModels?.ocr;
  if (explicit) return { ref: explicit };
  const { engine, ref } = engines.pick(s.defaultModel);
  const known = engine.describe(ref);
  if (!known) return { ref: s.defaultModel };
  if (!known.capabilities.includes('ocr-regions')) return { why: `${known.id}, the default model, does not read text with regions` };
  const listed = (await engine.listModels()).find((m) => m.id === known.id);
  return listed?.available ? { ref: s.defaultModel } : { why: `${known.id}, the default model, is not downloaded` };
}

/** The OCR model, ready to run, or why the elements get no text. */
export type OcrModel = { engine: Engine; handle: ModelHandle; model: LoadedModel } | { warning: string };

/** Finds, prepares and loads the OCR model: once per cell and model, not per image (see `screenRegions`). */
async function loadOcrModel(engines: EngineSet, s: { defaultModel: string; defaultModels?: Partial<Record<Task, string>> }, o: { baseDir?: string; signal: AbortSignal }): Promise<OcrModel> {
  const ocr = await ocrModelFor(engines, s);
  if (!ocr.ref) return { warning: `No OCR model for the elements' text (${ocr.why ?? 'none set'}): the detector gives boxes only. Set loupe.defaultModels {"ocr-regions": "<model>"} (e.g. florence-2-base) to add the text of each element.` };
  const { engine, ref } = engines.pick(ocr.ref);
  const handle = await engine.prepare(ref, { baseDir: o.baseDir, signal: o.signal });
  if (!handle.capabilities.includes('ocr-regions')) return { warning: `${handle.info.id}, the OCR model for elements, cannot run @task ocr-regions: elements have no text.` };
  return { engine, handle, model: await engine.load(handle, { signal: o.signal }) };
}

/** Runs OCR with regions on one image and returns its lines as boxes in original pixels, or why there are none. */
async function ocrLines(ocr: OcrModel, image: EngineImage, base: Omit<GenerateRequest, 'task' | 'images' | 'regions' | 'prompt'>, signal: AbortSignal): Promise<{ lines: Region[]; warning?: string; model?: string }> {
  if ('warning' in ocr) return { lines: [], warning: ocr.warning };
  const { engine, handle, model } = ocr;
  const gen = await engine.generate(model, { ...base, task: 'ocr-regions', prompt: '', images: [image], regions: [] }, { signal });
  const parsed = parseGeneration(handle.dialect, 'list-elements', gen);
  return { lines: parsed.regions.filter((x) => x.kind === 'box').map((x) => ({ ...x, type: 'text' })), model: handle.info.id };
}

/**
 * The runner's one call for screen tasks, after an answer is parsed: a detector's element list gets its text from
 * the OCR model, and a tappable or widget answer is drawn on the asked region.
 */
export async function screenRegions(
  task: Task,
  handle: ModelHandle,
  parsed: Parsed,
  req: GenerateRequest,
  o: {
    engines: EngineSet;
    settings: { defaultModel: string; defaultModels?: Partial<Record<Task, string>>; maxImageTokens: number; maxImagePixels: number };
    baseDir?: string;
    signal: AbortSignal;
    note(text: string): void;
    /** Held by the caller across a cell's runs (one per image): the OCR model is found and loaded once. */
    ocr: { model?: Promise<OcrModel> };
  },
): Promise<void> {
  if (task === 'list-elements' && handle.dialect === 'detections' && req.images[0]) {
    o.ocr.model ??= loadOcrModel(o.engines, o.settings, { baseDir: o.baseDir, signal: o.signal });
    const ocr = await ocrLines(await o.ocr.model, req.images[0], { params: {}, maxImageTokens: o.settings.maxImageTokens, maxImagePixels: o.settings.maxImagePixels }, o.signal);
    parsed.regions = combineElements(parsed.regions, ocr.lines);
    // The answer lists the elements with text, one per line (each text the span of its box), then counts those
    // without (icons): the table beside the image lists every one.
    let text = '';
    const bare = new Map<string, number>();
    parsed.regions = parsed.regions.map((r) => {
      const type = r.type ?? 'element';
      if (r.label === type) {
        bare.set(type, (bare.get(type) ?? 0) + 1);
        return r;
      }
      text += `${text ? '\n' : ''}${type}: `;
      const span: [number, number] = [text.length, text.length + r.label.length];
      text += r.label;
      return { ...r, span };
    });
    const counts = [...bare].map(([type, n]) => `${n} × ${type}`).join(', ');
    parsed.text = [text, counts && `${text ? 'and ' : ''}${counts} without text`].filter(Boolean).join('\n') || 'No elements found.';
    if (ocr.warning) parsed.warnings.push(ocr.warning);
    if (ocr.model) o.note(`The elements' text comes from ${ocr.model} (@task ocr-regions), their boxes from ${handle.info.id}.`);
  }
  parsed.regions.push(...askedRegions(task, req.regions, parsed.text, [1]));
}
