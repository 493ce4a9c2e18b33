// Notebook renderer for Loupe results. Runs in the notebook's webview: DOM only, nothing from the network.
import type { ActivationFunction, OutputItem, RendererContext } from 'vscode-notebook-renderer';
import { isLoupeResult, type LoupeResult, type ResultImage } from '../common/result';

const STYLE_ID = 'loupe-renderer-style';
const CSS = `
.loupe-result { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
.loupe-images { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.loupe-figure { margin: 0; max-width: 100%; }
.loupe-figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--vscode-widget-border, transparent); }
.loupe-figure figcaption { font-size: 12px; color: var(--vscode-descriptionForeground); margin-top: 4px; }
.loupe-error { color: var(--vscode-errorForeground); white-space: pre-wrap; }
.loupe-note, .loupe-warning { font-size: 12px; color: var(--vscode-editorWarning-foreground, var(--vscode-descriptionForeground)); }
.loupe-answer { white-space: pre-wrap; margin: 8px 0; }
`;

interface Rendered {
  urls: string[];
}

function ensureStyle(doc: Document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  doc.head.appendChild(style);
}

function el<K extends keyof HTMLElementTagNameMap>(doc: Document, tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  // Model and file text is always set as text, never parsed as HTML.
  if (text !== undefined) e.textContent = text;
  return e;
}

function base64ToBlob(data: string, mime: string): Blob {
  const bin = atob(data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: mime });
}

function renderImage(doc: Document, img: ResultImage, state: Rendered): HTMLElement {
  const fig = el(doc, 'figure', 'loupe-figure');
  fig.dataset.index = String(img.index);
  if (img.error || !img.display) {
    fig.appendChild(el(doc, 'div', 'loupe-error', `Image ${img.index} (${img.source}): ${img.error ?? 'no display data'}`));
    return fig;
  }
  const image = el(doc, 'img');
  const url = URL.createObjectURL(base64ToBlob(img.display.data, img.display.mime));
  state.urls.push(url);
  image.src = url;
  image.alt = `Image ${img.index}: ${img.source}, ${img.width}×${img.height} pixels`;
  image.width = img.display.width;
  image.height = img.display.height;
  image.dataset.naturalWidth = String(img.width);
  image.dataset.naturalHeight = String(img.height);
  fig.appendChild(image);
  fig.appendChild(el(doc, 'figcaption', undefined, `${img.index}. ${img.source} — ${img.width}×${img.height}${img.format ? ' ' + img.format.toUpperCase() : ''}`));
  for (const note of img.notes ?? []) fig.appendChild(el(doc, 'div', 'loupe-note', note));
  return fig;
}

export function renderResult(doc: Document, result: LoupeResult, state: Rendered): HTMLElement {
  const root = el(doc, 'div', 'loupe-result');
  root.dataset.status = result.status;
  const images = el(doc, 'div', 'loupe-images');
  for (const img of result.images) images.appendChild(renderImage(doc, img, state));
  root.appendChild(images);
  if (result.answer) root.appendChild(el(doc, 'div', 'loupe-answer', result.answer));
  for (const w of result.warnings) root.appendChild(el(doc, 'div', 'loupe-warning', `⚠ ${w}`));
  if (result.error) root.appendChild(el(doc, 'div', 'loupe-error', result.error));
  return root;
}

export const activate: ActivationFunction = (_ctx: RendererContext<unknown>) => {
  const rendered = new Map<string, Rendered>();
  const release = (id: string) => {
    const r = rendered.get(id);
    if (r) for (const u of r.urls) URL.revokeObjectURL(u);
    rendered.delete(id);
  };
  return {
    renderOutputItem(item: OutputItem, element: HTMLElement) {
      const doc = element.ownerDocument;
      ensureStyle(doc);
      release(item.id);
      const state: Rendered = { urls: [] };
      rendered.set(item.id, state);
      let value: unknown;
      try {
        value = item.json();
      } catch {
        value = undefined;
      }
      element.replaceChildren(
        isLoupeResult(value) ? renderResult(doc, value, state) : el(doc, 'div', 'loupe-error', 'This output is not a Loupe result this version can show.'),
      );
    },
    disposeOutputItem(id?: string) {
      if (id) release(id);
      else for (const k of [...rendered.keys()]) release(k);
    },
  };
};
