// The view of a video result: each clip's facts, a timeline marking the sampled frames (and those where regions
// were found), a keyboard-navigable filmstrip of the frames with their timestamps and regions, and the selected
// frame large, with zoom and its overlay. Answers keep their timestamps: one per frame for per-frame tasks.
import { modelLabel } from '../src/common/labels';
import { allRegions, isSideBySide, type LoupeResult, type ResultImage, type ResultVideo, type Run } from '../src/common/result';
import { clipFacts, formatTime } from '../src/common/video';
import { renderAnswer } from './answer';
import { ViewSync } from './compare';
import { base64ToBlob, button, el, setPressed } from './dom';
import { ImageFigure } from './figure';
import { ModelLegend } from './legend';
import { buildOverlay, modelColorClass, refsByImage, regionRefs, type RegionRef } from './overlay';
import type { Settings, ViewDeps } from './view';
import { IDENTITY, ZOOM_STEP, zoomAt, type View } from './viewport';

interface Thumb {
  el: HTMLElement;
  img: HTMLImageElement;
  frame: HTMLElement;
  url: string;
  data: string;
  regionsKey: string;
}

export class VideoView {
  readonly root: HTMLElement;
  private readonly doc: Document;
  private readonly clipsBox: HTMLElement;
  /** Side by side: one toggle per model, in its colour. */
  private readonly legend: ModelLegend;
  private readonly largeBox: HTMLElement;
  private readonly answerBox: HTMLElement;
  private readonly statusBox: HTMLElement;
  private readonly messages: HTMLElement;
  private readonly live: HTMLElement;
  private readonly sync = new ViewSync();
  private readonly thumbs = new Map<number, Thumb>();
  /** Every frame with its display bytes (streaming updates leave the bytes out). */
  private readonly images = new Map<number, ResultImage>();
  private figure: ImageFigure | undefined;
  private spansOf = new Map<number, HTMLElement[]>();
  private refsOf = new Map<number, RegionRef[]>();
  private result: LoupeResult | undefined;
  private selected: number | undefined;
  private readonly btn: Record<'overlay' | 'labels' | 'zoomIn' | 'zoomOut' | 'fit', HTMLButtonElement>;

  constructor(
    doc: Document,
    private readonly deps: ViewDeps,
  ) {
    this.doc = doc;
    this.root = el(doc, 'div', 'loupe-result loupe-video');
    const s: Settings = deps.settings();
    const toolbar = el(doc, 'div', 'loupe-toolbar');
    toolbar.setAttribute('role', 'toolbar');
    toolbar.setAttribute('aria-label', 'Frame view');
    const zoom = (f: number) => this.setView(f === 0 ? IDENTITY : zoomAt(this.sync.view, f));
    this.btn = {
      overlay: button(doc, 'Regions', 'Show regions', () => this.toggle('overlay'), s.overlay),
      labels: button(doc, 'Labels', 'Show labels', () => this.toggle('labels'), s.labels),
      zoomOut: button(doc, '−', 'Zoom out (-)', () => zoom(1 / ZOOM_STEP)),
      zoomIn: button(doc, '+', 'Zoom in (+)', () => zoom(ZOOM_STEP)),
      fit: button(doc, 'Fit', 'Fit the whole frame (0)', () => zoom(0)),
    };
    toolbar.append(...Object.values(this.btn));
    this.legend = new ModelLegend(doc, this.root, (t) => this.announce(t));
    this.clipsBox = el(doc, 'div', 'loupe-clips');
    this.largeBox = el(doc, 'div', 'loupe-frame-large');
    this.statusBox = el(doc, 'div', 'loupe-status');
    this.answerBox = el(doc, 'div', 'loupe-answer');
    this.answerBox.setAttribute('aria-label', 'Answer');
    this.messages = el(doc, 'div', 'loupe-messages');
    this.live = el(doc, 'div', 'loupe-sr');
    this.live.setAttribute('aria-live', 'polite');
    this.root.append(toolbar, this.legend.root, this.clipsBox, this.largeBox, this.statusBox, this.answerBox, this.messages, this.live);
    this.root.classList.toggle('hide-overlay', !s.overlay);
    this.root.classList.toggle('hide-labels', !s.labels);
    this.root.addEventListener('pointerover', (e) => this.spanIds(e.target).forEach((id) => this.hot(id, true)));
    this.root.addEventListener('pointerout', (e) => this.spanIds(e.target).forEach((id) => this.hot(id, false)));
  }

  update(r: LoupeResult): void {
    this.result = r;
    this.root.dataset.status = r.status;
    this.root.setAttribute('aria-busy', String(r.status === 'running'));
    for (const img of r.images) {
      const known = this.images.get(img.index);
      // A streaming update leaves the bytes out: keep the ones this view already has.
      this.images.set(img.index, img.display?.data === '' && known?.display ? { ...img, display: known.display } : img);
    }
    // Side by side, each region is drawn in its model's colour (overlay refClass).
    this.refsOf = refsByImage(regionRefs(r));
    const side = isSideBySide(r);
    this.legend.update(r, side);
    this.renderClips(r);
    const frames = r.images.filter((i) => i.time !== undefined && !i.error && this.images.get(i.index)?.display?.data);
    if (this.selected === undefined || !frames.some((f) => f.index === this.selected)) this.selected = frames[0]?.index;
    this.showLarge();
    this.renderAnswers(r);
    const models = [...new Set(r.runs.map((x) => modelLabel(x.model)).filter(Boolean))];
    this.statusBox.textContent = [r.status === 'running' ? 'Generating…' : '', models.length ? `${models.length > 1 ? 'Models' : 'Model'}: ${models.join(', ')}` : ''].filter(Boolean).join(' · ');
    const messages = [...(r.notes ?? []).map((n) => el(this.doc, 'div', 'loupe-note', n)), ...[...r.warnings, ...r.runs.flatMap((x) => x.warnings)].map((w) => el(this.doc, 'div', 'loupe-warning', `⚠ ${w}`))];
    for (const img of r.images) if (img.error) messages.push(el(this.doc, 'div', 'loupe-error', `${img.source}: ${img.error}`));
    if (r.error) messages.push(el(this.doc, 'div', 'loupe-error', r.error));
    // Side by side, a model that failed says so under its name; the others' answers stand.
    else if (side) for (const e of new Set(r.runs.flatMap((x) => (x.error ? [`${this.modelName(x)}: ${x.error}`] : [])))) messages.push(el(this.doc, 'div', 'loupe-error', e));
    this.messages.replaceChildren(...messages);
    const hasRegions = this.refsOf.size > 0;
    this.btn.overlay.hidden = this.btn.labels.hidden = !hasRegions;
    for (const b of [this.btn.zoomIn, this.btn.zoomOut, this.btn.fit]) b.hidden = this.selected === undefined;
  }

  dispose(): void {
    this.figure?.dispose();
    for (const t of this.thumbs.values()) URL.revokeObjectURL(t.url);
    this.thumbs.clear();
    this.root.remove();
  }

  /** Shows a frame large (and marks it in the filmstrip and on the timeline). */
  select(index: number, focus: 'thumb' | 'large' | 'none' = 'none'): void {
    if (!this.images.get(index)?.display?.data) return;
    this.selected = index;
    this.showLarge();
    this.markCurrent();
    const img = this.images.get(index)!;
    this.announce(`Frame ${index} at ${formatTime(img.time ?? 0)}${this.refsOf.get(index)?.length ? `, ${this.refsOf.get(index)!.length} region${this.refsOf.get(index)!.length === 1 ? '' : 's'}` : ''}`);
    if (focus === 'thumb') this.thumbs.get(index)?.el.focus({ preventScroll: false });
    if (focus === 'large') this.figure?.viewport.focus({ preventScroll: false });
  }

  private setView(v: View, live = false): void {
    this.sync.set(v, live);
    this.root.classList.toggle('is-zoomed', v.z > 1);
  }

  private renderClips(r: LoupeResult): void {
    const sections = (r.videos ?? []).map((v) => this.clipSection(r, v));
    this.clipsBox.replaceChildren(...sections);
    // Thumbnails of frames no longer in the result release their images.
    const shown = new Set((r.videos ?? []).flatMap((v) => v.frames));
    for (const [index, t] of this.thumbs) {
      if (shown.has(index)) continue;
      URL.revokeObjectURL(t.url);
      this.thumbs.delete(index);
    }
    this.markCurrent();
  }

  private clipSection(r: LoupeResult, v: ResultVideo): HTMLElement {
    const section = el(this.doc, 'section', 'loupe-clip');
    section.dataset.video = String(v.index);
    section.append(el(this.doc, 'div', v.error ? 'loupe-error' : 'loupe-clip-facts', clipFacts(v)));
    if (v.error) return section;
    for (const n of v.notes ?? []) section.append(el(this.doc, 'div', 'loupe-note', n));
    const frames = v.frames.map((i) => r.images[i - 1]).filter((i): i is ResultImage => !!i);
    const [start, end] = v.range ?? [0, v.duration];
    const timeline = el(this.doc, 'div', 'loupe-timeline');
    timeline.setAttribute('role', 'group');
    timeline.setAttribute('aria-label', `Timeline of ${v.source} from ${formatTime(start)} to ${formatTime(end)}: ${frames.length} frames${this.foundCount(frames) ? `, regions found in ${this.foundCount(frames)}` : ''}`);
    timeline.append(el(this.doc, 'div', 'loupe-timeline-bar'));
    for (const f of frames) {
      const found = this.refsOf.get(f.index)?.length ?? 0;
      const tick = el(this.doc, 'button', `loupe-tick${found ? ' is-found' : ''}`);
      tick.type = 'button';
      tick.tabIndex = -1;
      tick.dataset.image = String(f.index);
      tick.style.left = `${end > start ? Math.min(100, Math.max(0, (((f.time ?? 0) - start) / (end - start)) * 100)) : 0}%`;
      const labels = [...new Set((this.refsOf.get(f.index) ?? []).map((x) => x.region.label).filter(Boolean))];
      tick.title = `${formatTime(f.time ?? 0)}${found ? ` — ${labels.join(', ') || `${found} region${found === 1 ? '' : 's'}`}` : ''}`;
      tick.setAttribute('aria-label', `Frame at ${tick.title}`);
      tick.addEventListener('click', () => this.select(f.index, 'thumb'));
      timeline.append(tick);
    }
    const strip = el(this.doc, 'div', 'loupe-filmstrip');
    strip.setAttribute('role', 'listbox');
    strip.setAttribute('aria-orientation', 'horizontal');
    strip.setAttribute('aria-label', `Frames of ${v.source}: arrows move, Enter opens the frame large`);
    for (const f of frames) {
      const t = this.thumb(f);
      if (t) strip.append(t.el);
    }
    strip.addEventListener('keydown', (e) => this.stripKey(e, frames));
    section.append(timeline, strip);
    return section;
  }

  private foundCount(frames: ResultImage[]): number {
    return frames.filter((f) => this.refsOf.get(f.index)?.length).length;
  }

  private thumb(f: ResultImage): Thumb | undefined {
    const img = this.images.get(f.index);
    if (!img?.display?.data) return undefined;
    let t = this.thumbs.get(f.index);
    if (t && t.data !== img.display.data) {
      URL.revokeObjectURL(t.url);
      t = undefined;
    }
    if (!t) {
      const node = el(this.doc, 'figure', 'loupe-thumb');
      node.setAttribute('role', 'option');
      node.dataset.image = String(f.index);
      const frame = el(this.doc, 'div', 'loupe-thumb-frame');
      frame.style.aspectRatio = `${img.width} / ${img.height}`;
      const pic = el(this.doc, 'img');
      const url = URL.createObjectURL(base64ToBlob(img.display.data, img.display.mime));
      pic.src = url;
      pic.decoding = 'async';
      pic.draggable = false;
      frame.append(pic);
      node.append(frame, el(this.doc, 'figcaption', 'loupe-thumb-time', formatTime(f.time ?? 0)));
      node.addEventListener('click', () => this.select(f.index, 'thumb'));
      node.addEventListener('dblclick', () => this.select(f.index, 'large'));
      t = { el: node, img: pic, frame, url, data: img.display.data, regionsKey: '' };
      this.thumbs.set(f.index, t);
    }
    const refs = this.refsOf.get(f.index) ?? [];
    const labels = [...new Set(refs.map((x) => x.region.label).filter(Boolean))];
    t.img.alt = `Frame ${f.index} at ${formatTime(f.time ?? 0)}${refs.length ? `: ${refs.length} region${refs.length === 1 ? '' : 's'}${labels.length ? ` (${labels.slice(0, 4).join(', ')})` : ''}` : ''}`;
    t.el.setAttribute('aria-label', t.img.alt);
    t.el.classList.toggle('is-found', refs.length > 0);
    const key = JSON.stringify(refs.map((x) => x.region.coords));
    if (key !== t.regionsKey) {
      t.regionsKey = key;
      t.frame.querySelector('svg')?.remove();
      // The thumbnail's own overlay: shapes only (labels would not fit), not focusable (the large frame's are).
      if (refs.length) {
        const o = buildOverlay(this.doc, refs, img.width, img.height, f.index);
        for (const s of o.shapes.values()) {
          s.removeAttribute('tabindex');
          s.removeAttribute('role');
        }
        o.svg.setAttribute('aria-hidden', 'true');
        t.frame.append(o.svg);
      }
    }
    return t;
  }

  private stripKey(e: KeyboardEvent, frames: ResultImage[]): void {
    const at = frames.findIndex((f) => f.index === this.selected);
    let next: number | undefined;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = Math.min(frames.length - 1, at + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = Math.max(0, at - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = frames.length - 1;
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      if (this.selected !== undefined) this.select(this.selected, 'large');
      return;
    }
    if (next === undefined || !frames[next]) return;
    e.preventDefault();
    this.select(frames[next]!.index, 'thumb');
  }

  /** Roving tab stop and selection marks: the current frame in the filmstrip, on the timeline and in the answers. */
  private markCurrent(): void {
    for (const [index, t] of this.thumbs) {
      t.el.setAttribute('aria-selected', String(index === this.selected));
      t.el.tabIndex = index === this.selected ? 0 : -1;
    }
    for (const tick of this.root.querySelectorAll<HTMLElement>('.loupe-tick')) tick.classList.toggle('is-current', Number(tick.dataset.image) === this.selected);
    for (const li of this.answerBox.querySelectorAll<HTMLElement>('li[data-image]')) li.classList.toggle('is-current', Number(li.dataset.image) === this.selected);
  }

  private showLarge(): void {
    const img = this.selected === undefined ? undefined : this.images.get(this.selected);
    if (!img?.display?.data) {
      this.figure?.dispose();
      this.figure = undefined;
      this.largeBox.replaceChildren();
      return;
    }
    if (!this.figure || this.figure.image.index !== img.index || this.figure.data !== img.display.data) {
      if (this.figure) {
        this.sync.delete(this.figure);
        this.figure.dispose();
      }
      this.figure = new ImageFigure(this.doc, img, 1, {
        outputId: this.deps.outputId,
        view: () => this.sync.view,
        setView: (v, live) => this.setView(v, live),
        // Draw to ask writes an @image cell: frames are not image files, so frames are not drawn on.
        drawMode: () => undefined,
        ask: () => undefined,
        regionHover: (id, on) => this.hot(id, on),
        regionFocus: (id) => this.hot(id, true),
      });
      this.setView(IDENTITY);
      this.sync.add(this.figure);
      this.largeBox.replaceChildren(this.figure.fig);
    }
    const refs = this.refsOf.get(img.index) ?? [];
    this.figure.describe(img, 1, refs);
    this.figure.viewport.setAttribute('aria-label', `Frame ${img.index} at ${formatTime(img.time ?? 0)}. Plus and minus zoom, 0 fits, arrows pan.`);
    this.figure.setRegions(refs);
    // The frame's own answer (per-frame tasks), with its words linked to its regions; side by side, each model's.
    const r = this.result;
    const runs = r && r.runs.length > 1 ? r.runs.map((run, k) => ({ run, k })).filter(({ run }) => run.answer && run.images.length === 1 && run.images[0] === img.index) : [];
    this.figure.answer.hidden = runs.length === 0;
    this.spansOf = new Map();
    if (runs.length) {
      this.figure.answer.setAttribute('aria-label', `Answer for the frame at ${formatTime(img.time ?? 0)}`);
      const side = isSideBySide(r!);
      if (!side) this.spansOf = renderAnswer(this.doc, this.figure.answer, runs[0]!.run.answer, refs);
      else {
        const all = allRegions(r!);
        const blocks = runs.map(({ run, k }) => {
          const block = el(this.doc, 'div', 'loupe-run-answer');
          block.dataset.model = String(run.modelIndex ?? 0);
          const text = el(this.doc, 'span', 'loupe-run-text');
          const mine = new Set(all.filter((x) => x.run === k).map((x) => x.id));
          renderAnswer(this.doc, text, run.answer, refs.filter((x) => mine.has(x.id))).forEach((list, id) => this.spansOf.set(id, [...(this.spansOf.get(id) ?? []), ...list]));
          block.append(this.modelTag(run), text);
          return block;
        });
        this.figure.answer.replaceChildren(...blocks);
      }
    }
  }

  private renderAnswers(r: LoupeResult): void {
    const side = isSideBySide(r);
    // Side by side, a model that failed before its first frame has one run over every frame: its error is in the messages.
    const runs = side ? r.runs.filter((x) => !(x.error && x.images.length > 1 && !x.answer)) : r.runs;
    const perFrame = runs.length > 1 && runs.every((x) => x.images.length === 1);
    const nodes: HTMLElement[] = [];
    if (perFrame) {
      // One answer per frame, each after its time (a button that shows the frame); side by side, the frame's answers by model.
      const list = el(this.doc, 'ol', 'loupe-frame-answers');
      const ordered = side ? [...runs].sort((a, b) => a.images[0]! - b.images[0]! || (a.modelIndex ?? 0) - (b.modelIndex ?? 0)) : runs;
      for (const run of ordered) {
        const index = run.images[0]!;
        const img = r.images[index - 1];
        const li = el(this.doc, 'li');
        li.dataset.image = String(index);
        const at = el(this.doc, 'button', 'loupe-time', formatTime(img?.time ?? 0));
        at.type = 'button';
        at.title = `Show the frame at ${formatTime(img?.time ?? 0)}`;
        at.addEventListener('click', () => this.select(index, 'large'));
        li.append(at);
        if (side) li.append(this.modelTag(run));
        li.append(this.doc.createTextNode(run.error ? `⚠ ${run.error}` : run.answer));
        list.append(li);
      }
      nodes.push(list);
    } else {
      for (const run of runs) {
        if (!run.answer) continue;
        const block = el(this.doc, 'div', 'loupe-run-answer');
        if (side) {
          block.dataset.model = String(run.modelIndex ?? 0);
          const text = el(this.doc, 'span', 'loupe-run-text');
          renderAnswer(this.doc, text, run.answer, []);
          block.append(this.modelTag(run), text);
        } else renderAnswer(this.doc, block, run.answer, []);
        nodes.push(block);
      }
    }
    this.answerBox.hidden = nodes.length === 0;
    this.answerBox.replaceChildren(...nodes);
    this.markCurrent();
  }

  /** Side by side: a run's model, by name. */
  private modelName(run: Run): string {
    return modelLabel(run.model) || `Model ${(run.modelIndex ?? 0) + 1}`;
  }

  /** Side by side: the model's swatch and name before its answer. */
  private modelTag(run: Run): HTMLElement {
    const tag = el(this.doc, 'span', 'loupe-run-model');
    tag.append(el(this.doc, 'span', `loupe-swatch ${modelColorClass(run.modelIndex ?? 0)}`), this.doc.createTextNode(`${this.modelName(run)}: `));
    return tag;
  }

  private spanIds(t: EventTarget | null): number[] {
    return ((t as Element | null)?.closest?.('.loupe-ref') as HTMLElement | null)?.dataset.regions?.split(' ').map(Number) ?? [];
  }

  private hot(id: number, on: boolean): void {
    this.figure?.shape(id)?.classList.toggle('is-hot', on);
    this.figure?.chip(id)?.classList.toggle('is-hot', on);
    for (const s of this.spansOf.get(id) ?? []) s.classList.toggle('is-hot', on);
  }

  private toggle(key: 'overlay' | 'labels'): void {
    const on = !this.deps.settings()[key];
    this.deps.saveSettings({ [key]: on });
    setPressed(this.btn[key], on);
    this.root.classList.toggle(key === 'overlay' ? 'hide-overlay' : 'hide-labels', !on);
  }

  private announce(text: string): void {
    this.live.textContent = text;
  }
}
