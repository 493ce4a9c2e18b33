// UI elements from any dialect's regions (`@task list-elements`): a type (button, text, icon…) and the element's
// text, read from the label the model wrote ("button \"Sign in\"", "Text: Welcome back"). OCR quads become boxes
// of type text. Also the yes/no of `@task tappable`.
import type { Region } from '../../common/result';

/** Element types models use, longest first so "text field" wins over "text". */
export const ELEMENT_TYPES = ['text field', 'text input', 'search bar', 'checkbox', 'switch', 'toggle', 'button', 'icon', 'image', 'input', 'link', 'tab', 'slider', 'radio', 'menu', 'picture', 'text', 'label'].sort((a, b) => b.length - a.length);

const LEAD = new RegExp(`^\\s*(${ELEMENT_TYPES.map((t) => t.replace(' ', '\\s+')).join('|')})\\b\\s*[:\\-–]?\\s*`, 'i');

/** Splits a label into its element type and text; `fallback` when the label names no type. */
export function splitElementLabel(label: string, fallback: string): { type: string; text: string } {
  const m = LEAD.exec(label);
  const unquote = (s: string) => s.trim().replace(/^["'“‘](.*)["'”’]$/s, '$1').trim();
  if (!m) return { type: fallback, text: unquote(label) };
  return { type: m[1]!.toLowerCase().replace(/\s+/g, ' '), text: unquote(label.slice(m[0].length)) };
}

/** Regions as UI elements: boxes with a type; quads (OCR lines) become their bounding boxes, of type text. */
export function asElements(regions: Region[]): Region[] {
  return regions.map((r) => {
    if (r.type) return r;
    if (r.kind === 'quad') {
      const xs = r.coords.filter((_, i) => i % 2 === 0);
      const ys = r.coords.filter((_, i) => i % 2 === 1);
      return { ...r, kind: 'box', coords: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], type: 'text' };
    }
    const { type, text } = splitElementLabel(r.label, 'element');
    return { ...r, type, label: text || r.label };
  });
}

/** The yes/no of a tappable answer, or undefined when the answer says neither. */
export function tappableAnswer(text: string): boolean | undefined {
  const t = text.toLowerCase();
  const no = /\b(no|not tappable|not clickable|cannot be tapped|isn't tappable|is not)\b/.exec(t);
  const yes = /\b(yes|tappable|clickable|can be tapped)\b/.exec(t);
  if (no && (!yes || no.index <= yes.index)) return false;
  return yes ? true : undefined;
}
