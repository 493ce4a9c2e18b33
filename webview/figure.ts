// One image: its viewport (zoom, pan, draw to ask), the image, its region overlay and caption.
import type { ResultImage } from '../src/common/result';
import type { AskAboutRegionMessage } from '../src/common/renderer-messages';
import { base64ToBlob, el } from './dom';
import { DrawGesture } from './draw';
import { regionBounds } from '../src/common/regions';
import { buildOverlay, MANY_LABELS, type Overlay, type RegionRef } from './overlay';
import { panBy, toViewport, transformOf, zoomAt, ZOOM_STEP, IDENTITY, type View } from './viewport';

/** What a figure needs from the result view around it. */
export interface FigureHost {
  readonly outputId: string | undefined;
  view(): View;
  setView(v: View, live?: boolean): void;
  /** Plain drags draw (the "Draw to ask" toggle); Shift+drag always draws. Undefined: no messaging, no drawing. */
  drawMode(): boolean | undefined;
  ask(msg: AskAboutRegionMessage): void;
  regionHover(id: number, on: boolean): void;
  regionFocus(id: number): void;
}

/** Quiet time after a wheel or drag step before the view is re-rastered sharp. */
const SETTLE_MS = 150;

const px = (e: { clientX: number; clientY: number }, r: DOMRect): [number, number] => [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];

export class ImageFigure {
  readonly fig: HTMLElement;
  readonly viewport: HTMLDivElement;
  readonly stage: HTMLDivElement;
  readonly img: HTMLImageElement;
  readonly answer: HTMLDivElement;
  private readonly caption: HTMLElement;
  private readonly url: string;
  private overlay: Overlay | undefined;
  private regionsKey = '';
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  /** The display data this figure shows: an update with the same bytes keeps the element (no flicker). */
  readonly data: string;

  constructor(
    doc: Document,
    public image: ResultImage,
    count: number,
    private readonly host: FigureHost,
  ) {
    const d = image.display!;
    this.data = d.data;
    this.fig = el(doc, 'figure', 'loupe-figure');
    this.fig.dataset.index = String(image.index);
    this.viewport = el(doc, 'div', 'loupe-viewport');
    this.viewport.tabIndex = 0;
    this.viewport.setAttribute('role', 'group');
    // Non-square images: the viewport takes the upright natural aspect, so fractions map to pixels on both axes.
    this.viewport.style.aspectRatio = `${image.width} / ${image.height}`;
    this.viewport.style.maxWidth = `${d.width}px`;
    this.stage = el(doc, 'div', 'loupe-stage');
    this.img = el(doc, 'img', 'loupe-img');
    this.url = URL.createObjectURL(base64ToBlob(d.data, d.mime));
    this.img.src = this.url;
    this.img.decoding = 'async';
    this.img.draggable = false;
    this.stage.appendChild(this.img);
    this.viewport.appendChild(this.stage);
    this.caption = el(doc, 'figcaption');
    this.answer = el(doc, 'div', 'loupe-answer loupe-image-answer');
    this.answer.hidden = true;
    this.fig.append(this.viewport, this.caption, this.answer);
    for (const note of image.notes ?? []) this.fig.appendChild(el(doc, 'div', 'loupe-note', note));
    this.describe(image, count, []);
    this.wire();
  }

  /** Caption, alt text and the viewport's accessible name; cheap, so redone on every update. */
  describe(image: ResultImage, count: number, refs: RegionRef[]): void {
    this.image = image;
    const size = `${image.width}×${image.height} pixels`;
    const labels = [...new Set(refs.map((r) => r.region.label).filter(Boolean))];
    const regions = refs.length ? `; ${refs.length} region${refs.length === 1 ? '' : 's'}${labels.length ? ': ' + labels.slice(0, 8).join(', ') + (labels.length > 8 ? '…' : '') : ''}` : '';
    this.img.alt = `Image ${image.index}${count > 1 ? ` of ${count}` : ''}: ${image.source}, ${size}${regions}`;
    this.viewport.setAttribute('aria-label', `Image ${image.index}, ${image.source}. Plus and minus zoom, 0 fits, arrows pan${this.host.drawMode() !== undefined ? ', Shift+drag asks about a region' : ''}.`);
    const fmt = image.format ? ' ' + image.format.toUpperCase() : '';
    const model = image.modelWidth && image.modelHeight ? ` (model saw ${image.modelWidth}×${image.modelHeight})` : '';
    this.caption.textContent = `${image.index}. ${image.source} — ${image.width}×${image.height}${fmt}${model}`;
  }

  setRegions(refs: RegionRef[]): void {
    const key = JSON.stringify(refs);
    if (key === this.regionsKey) return;
    this.regionsKey = key;
    const focused = this.viewport.ownerDocument.activeElement;
    const focusedId = focused instanceof SVGElement && this.overlay?.svg.contains(focused) ? focused.dataset.region : undefined;
    this.overlay?.svg.remove();
    this.overlay?.chips.remove();
    this.overlay = buildOverlay(this.viewport.ownerDocument, refs, this.image.width, this.image.height, this.image.index);
    this.stage.append(this.overlay.svg, this.overlay.chips);
    this.fig.classList.toggle('many-labels', refs.length > MANY_LABELS);
    // Streaming rebuilds the overlay: keep keyboard focus on the region the user was on.
    if (focusedId !== undefined) (this.overlay.shapes.get(Number(focusedId)) as SVGElement & HTMLOrSVGElement | undefined)?.focus({ preventScroll: true });
  }

  shape(id: number): SVGElement | undefined {
    return this.overlay?.shapes.get(id);
  }

  chip(id: number): HTMLElement | undefined {
    return this.overlay?.chip(id);
  }

  /**
   * live: part of a wheel or drag gesture. The stage then becomes a compositor layer that is only moved and scaled
   * (no repaint of the image, 1000 boxes and their chips per frame), and chips are counter-scaled once it settles;
   * dropping the layer afterwards re-rasters everything sharp at the new zoom.
   */
  applyView(v: View, live = false): void {
    this.stage.style.transform = transformOf(v);
    clearTimeout(this.settleTimer);
    const settle = () => {
      this.stage.classList.remove('is-moving');
      // Chips and strokes keep their screen size: chips scale by 1/zoom around their anchor.
      this.stage.style.setProperty('--loupe-inv', String(1 / v.z));
    };
    if (!live) return settle();
    this.stage.classList.add('is-moving');
    this.settleTimer = setTimeout(settle, SETTLE_MS);
  }

  /** Pans so that a region out of sight (after Tab) comes into view. */
  reveal(id: number, refs: RegionRef[]): void {
    const ref = refs.find((r) => r.id === id);
    if (!ref) return;
    const v = this.host.view();
    const [x1, y1, x2, y2] = regionBounds(ref.region);
    const [u1, v1] = toViewport(v, x1 / this.image.width, y1 / this.image.height);
    const [u2, v2] = toViewport(v, x2 / this.image.width, y2 / this.image.height);
    if (u2 >= 0 && u1 <= 1 && v2 >= 0 && v1 <= 1) return;
    this.host.setView(panBy(v, 0.5 - (u1 + u2) / 2, 0.5 - (v1 + v2) / 2));
  }

  dispose(): void {
    clearTimeout(this.settleTimer);
    URL.revokeObjectURL(this.url);
    this.fig.remove();
  }

  private wire(): void {
    const vp = this.viewport;
    let drag: { kind: 'pan'; last: [number, number]; moved: boolean; region?: string } | { kind: 'draw'; gesture: DrawGesture } | undefined;
    vp.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      const r = vp.getBoundingClientRect();
      const p = px(e, r);
      const mode = this.host.drawMode();
      if (mode !== undefined && (mode || e.shiftKey)) drag = { kind: 'draw', gesture: new DrawGesture(vp, p) };
      else {
        const region = (e.target as Element).closest?.('[data-region]') as SVGElement | null;
        drag = { kind: 'pan', last: p, moved: false, ...(region?.dataset.region ? { region: region.dataset.region } : {}) };
      }
      vp.setPointerCapture(e.pointerId);
      e.preventDefault();
      vp.focus({ preventScroll: true });
    });
    vp.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const p = px(e, vp.getBoundingClientRect());
      if (drag.kind === 'draw') return drag.gesture.move(p);
      const v = this.host.view();
      if (v.z > 1) this.host.setView(panBy(v, p[0] - drag.last[0], p[1] - drag.last[1]), true);
      if (Math.abs(p[0] - drag.last[0]) + Math.abs(p[1] - drag.last[1]) > 0.002) drag.moved = true;
      drag.last = p;
    });
    const end = (e: PointerEvent, cancelled: boolean) => {
      const d = drag;
      drag = undefined;
      if (!d) return;
      if (d.kind === 'draw') {
        if (cancelled) return d.gesture.cancel();
        const msg = d.gesture.finish(this.host.view(), this.image, this.host.outputId);
        if (msg) this.host.ask(msg);
        return;
      }
      // A click (no drag) on a region selects it, like focusing it with Tab.
      if (!cancelled && !d.moved && d.region !== undefined) {
        const shape = this.shape(Number(d.region)) as (SVGElement & HTMLOrSVGElement) | undefined;
        shape?.focus({ preventScroll: true });
      }
      if (vp.hasPointerCapture(e.pointerId)) vp.releasePointerCapture(e.pointerId);
    };
    vp.addEventListener('pointerup', (e) => end(e, false));
    vp.addEventListener('pointercancel', (e) => end(e, true));
    vp.addEventListener('wheel', (e) => {
      // Only zoom when the user means it (Ctrl/⌘ or pinch, or the image has focus): otherwise the notebook scrolls.
      if (!(e.ctrlKey || e.metaKey || vp.contains(vp.ownerDocument.activeElement))) return;
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
      const [u, v] = px(e, vp.getBoundingClientRect());
      const next = zoomAt(this.host.view(), Math.exp(-dy * 0.002), u, v);
      e.preventDefault();
      this.host.setView(next, true);
    }, { passive: false });
    vp.addEventListener('keydown', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const v = this.host.view();
      const step = 0.1;
      let next: View | undefined;
      if (e.key === '+' || e.key === '=') next = zoomAt(v, ZOOM_STEP);
      else if (e.key === '-' || e.key === '_') next = zoomAt(v, 1 / ZOOM_STEP);
      else if (e.key === '0') next = IDENTITY;
      else if (v.z > 1 && e.key === 'ArrowLeft') next = panBy(v, step, 0);
      else if (v.z > 1 && e.key === 'ArrowRight') next = panBy(v, -step, 0);
      else if (v.z > 1 && e.key === 'ArrowUp') next = panBy(v, 0, step);
      else if (v.z > 1 && e.key === 'ArrowDown') next = panBy(v, 0, -step);
      if (!next) return;
      e.preventDefault();
      this.host.setView(next);
    });
    // Regions: hover and focus highlight the text they came from (delegated: one listener for 1000 regions).
    const regionOf = (t: EventTarget | null) => ((t as Element | null)?.closest?.('.loupe-region') as SVGElement | null)?.dataset.region;
    vp.addEventListener('pointerover', (e) => {
      const id = regionOf(e.target);
      if (id !== undefined) this.host.regionHover(Number(id), true);
    });
    vp.addEventListener('pointerout', (e) => {
      const id = regionOf(e.target);
      if (id !== undefined) this.host.regionHover(Number(id), false);
    });
    vp.addEventListener('focusin', (e) => {
      const id = regionOf(e.target);
      if (id !== undefined) this.host.regionFocus(Number(id));
    });
  }
}
