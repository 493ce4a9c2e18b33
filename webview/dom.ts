// Small DOM helpers. Model and file text is only ever set through textContent or attributes, never parsed as HTML.

export const SVG_NS = 'http://www.w3.org/2000/svg';

export function el<K extends keyof HTMLElementTagNameMap>(doc: Document, tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function svgEl<K extends keyof SVGElementTagNameMap>(doc: Document, tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = doc.createElementNS(SVG_NS, tag);
  for (const k in attrs) e.setAttribute(k, String(attrs[k]));
  return e;
}

export function button(doc: Document, label: string, title: string, onClick: () => void, pressed?: boolean): HTMLButtonElement {
  const b = el(doc, 'button', 'loupe-button', label);
  b.type = 'button';
  b.title = title;
  b.setAttribute('aria-label', title);
  if (pressed !== undefined) b.setAttribute('aria-pressed', String(pressed));
  b.addEventListener('click', onClick);
  return b;
}

export function setPressed(b: HTMLButtonElement, on: boolean): void {
  b.setAttribute('aria-pressed', String(on));
}

type FromBase64 = { fromBase64?: (s: string) => Uint8Array };

export function base64ToBlob(data: string, mime: string): Blob {
  // Native decoding where the webview's Chromium has it (much faster on megabyte images).
  const native = (Uint8Array as unknown as FromBase64).fromBase64;
  if (native) return new Blob([native(data) as Uint8Array<ArrayBuffer>], { type: mime });
  const bin = atob(data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: mime });
}

/** Black or white text, whichever reads better on a #rrggbb background (WCAG relative luminance). */
export function textOn(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin((n >> 16) & 255) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  return l > 0.179 ? '#000' : '#fff';
}
