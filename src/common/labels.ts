// How a model is named to a user: in the renderer, exports, the CLI's progress lines and the status bar.
import type { ModelInfo } from './result';

export function dtypeLabel(dtype: ModelInfo['dtype']): string | undefined {
  if (dtype === undefined) return undefined;
  if (typeof dtype === 'string') return dtype;
  const values = [...new Set(Object.values(dtype))];
  return values.length === 1 ? values[0] : Object.entries(dtype).map(([k, v]) => `${k}: ${v}`).join(', ');
}

/** Short model name: registry ids and Hub repos as written, local folders by their last segment. */
export function modelName(model: ModelInfo): string {
  return /[\\/]/.test(model.id) && (model.id.startsWith('.') || model.id.startsWith('/') || model.id.startsWith('~') || /^[A-Za-z]:/.test(model.id))
    ? model.id.replace(/[\\/]+$/, '').split(/[\\/]/).pop()!
    : model.id;
}

/** `tiny-florence2 (cpu, q4)`. */
export function modelLabel(model: ModelInfo | undefined): string {
  if (!model) return '';
  const extra = [model.provider, dtypeLabel(model.dtype)].filter(Boolean);
  return `${modelName(model)}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}
