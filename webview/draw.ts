// Draw to ask: the rubber band the user drags on an image, in viewport fractions until it becomes a box.
import type { ResultImage } from '../src/common/result';
import type { AskAboutRegionMessage } from '../src/common/renderer-messages';
import { el } from './dom';
import { dragToBox, type View } from './viewport';

/** Drags shorter than this (CSS px) are clicks, not boxes. */
const MIN_DRAG_PX = 4;

export class DrawGesture {
  private readonly band: HTMLElement;
  private end: [number, number];

  constructor(
    private readonly viewport: HTMLElement,
    private readonly start: [number, number],
  ) {
    this.end = start;
    this.band = el(viewport.ownerDocument, 'div', 'loupe-band');
    this.band.setAttribute('aria-hidden', 'true');
    viewport.appendChild(this.band);
    this.place();
  }

  move(p: [number, number]): void {
    this.end = p;
    this.place();
  }

  /** The box in original pixels, or undefined for a click or an empty box. */
  finish(view: View, img: ResultImage, outputId: string | undefined): AskAboutRegionMessage | undefined {
    this.band.remove();
    const r = this.viewport.getBoundingClientRect();
    const dx = Math.abs(this.end[0] - this.start[0]) * r.width;
    const dy = Math.abs(this.end[1] - this.start[1]) * r.height;
    if (Math.max(dx, dy) < MIN_DRAG_PX) return undefined;
    const box = dragToBox(view, this.start, this.end, img.width, img.height);
    if (!box) return undefined;
    return { type: 'askAboutRegion', ...(outputId ? { outputId } : {}), image: { index: img.index, source: img.source }, box };
  }

  cancel(): void {
    this.band.remove();
  }

  private place(): void {
    const [a, b] = [this.start, this.end];
    const s = this.band.style;
    s.left = `${Math.min(a[0], b[0]) * 100}%`;
    s.top = `${Math.min(a[1], b[1]) * 100}%`;
    s.width = `${Math.abs(a[0] - b[0]) * 100}%`;
    s.height = `${Math.abs(a[1] - b[1]) * 100}%`;
  }
}
