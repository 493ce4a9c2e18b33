// One colour per label, the same in the renderer, burned-in PNGs and exports.
export const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990', '#dcbeff', '#9a6324'];

export function labelColor(label: string): string {
  let h = 2166136261;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619);
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

/** Side by side (`@model a, b`), regions take their model's colour, so each model's answer reads apart from the
 * others' on the same image: blue, orange, green, magenta (distinct in common colour-vision deficiencies). */
export const MODEL_PALETTE = [2, 3, 1, 6] as const;

const MODEL_COLOR_NAMES = ['blue', 'orange', 'green', 'magenta'] as const;

/** What a page without colour legend support says (Markdown): `blue`. */
export function modelColorName(modelIndex: number): string {
  return MODEL_COLOR_NAMES[modelIndex % MODEL_COLOR_NAMES.length]!;
}

export function modelColor(modelIndex: number): string {
  return PALETTE[MODEL_PALETTE[modelIndex % MODEL_PALETTE.length]!]!;
}
