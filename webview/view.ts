// One output's view: toolbar, images (single or compared), answer text, and the links between regions and text.
// Built once per output id and updated in place while the result streams.
import { modelLabel } from '../src/common/labels';
import { coordsText } from '../src/common/regions';
import { allRegions, isSideBySide, type LoupeResult, type Region, type Run } from '../src/common/result';
import type { AskAboutRegionMessage, RendererMessage } from '../src/common/renderer-messages';
import { renderAnswer } from './answer';
import { applyLayout, ViewSync, type Layout } from './compare';
import { button, el, setPressed } from './dom';
import { ModelLegend } from './legend';
import { ImageFigure } from './figure';
import { ElementTable } from './elements';
import { modelColorClass, refsByImage, regionRefs, type RegionRef } from './overlay';
import { IDENTITY, ZOOM_STEP, zoomAt, type View } from './viewport';

/** What the renderer remembers between outputs and sessions (ctx.setState). */
export interface Settings {
  layout: Layout;
  overlay: boolean;
  labels: boolean;
}

export interface ViewDeps {
  outputId: string | undefined;
  settings(): Settings;
  saveSettings(patch: Partial<Settings>): void;
  /** Undefined when the renderer has no messaging: draw to ask is then off, copy falls back to the clipboard API. */
  post: ((m: RendererMessage) => void) | undefined;
  /** Messages from the extension (the batch pager's rows); returns the unsubscribe. */
  onMessage?(listener: (m: unknown) => void): () => void;
}

export class ResultView {
  readonly root: HTMLElement;
  private readonly doc: Document;
  private readonly imagesBox: HTMLElement;
  private readonly answerBox: HTMLElement;
  private readonly statusBox: HTMLElement;
  /** Side by side: one toggle per model, in its colour. */
  private readonly legend: ModelLegend;
  private readonly messages: HTMLElement;
  private readonly live: HTMLElement;
  private readonly sync = new ViewSync();
  private readonly figures = new Map<number, ImageFigure>();
  private readonly spansOf = new Map<number, HTMLElement[]>();
  private readonly figureOf = new Map<number, ImageFigure>();
  private refsOf = new Map<number, RegionRef[]>();
  /** Every region of the result with its model side by side, in id order (overlay and element table). */
  private refs: RegionRef[] = [];
  /** Every region of the result by id (numbered across runs). */
  private regions: Region[] = [];
  private answerKey = '';
  private selected: number | undefined;
  /** UI elements and detector boxes as a table synced with the overlay (webview/elements.ts). */
  private readonly elements: ElementTable;
  private drawOn = false;
  private readonly btn: Record<'overlay' | 'labels' | 'layout' | 'zoomIn' | 'zoomOut' | 'fit' | 'draw' | 'copy' | 'ask', HTMLButtonElement>;

  constructor(
    doc: Document,
    private readonly deps: ViewDeps,
  ) {
    this.doc = doc;
    this.root = el(doc, 'div', 'loupe-result');
    const s = deps.settings();
    const toolbar = el(doc, 'div', 'loupe-toolbar');
    toolbar.setAttribute('role', 'toolbar');
    toolbar.setAttribute('aria-label', 'Image view');
    const zoom = (f: number) => this.setView(f === 0 ? IDENTITY : zoomAt(this.sync.view, f));
    this.btn = {
      overlay: button(doc, 'Regions', 'Show regions', () => this.toggle('overlay'), s.overlay),
      labels: button(doc, 'Labels', 'Show labels', () => this.toggle('labels'), s.labels),
      layout: button(doc, 'Grid', 'Grid layout (off: side by side)', () => this.toggleLayout(), s.layout === 'grid'),
      zoomOut: button(doc, '−', 'Zoom out (-)', () => zoom(1 / ZOOM_STEP)),
      zoomIn: button(doc, '+', 'Zoom in (+)', () => zoom(ZOOM_STEP)),
      fit: button(doc, 'Fit', 'Fit the whole image (0)', () => zoom(0)),
      draw: button(doc, 'Draw to ask', 'Draw to ask: drag a rectangle on an image to ask about it in a new cell (Shift+drag always draws)', () => this.toggleDraw(), false),
      copy: button(doc, 'Copy coordinates', 'Copy the selected region’s coordinates (C)', () => this.copySelected()),
      ask: button(doc, 'Ask about region', 'Ask about the selected region in a new cell (Enter)', () => this.askSelected()),
    };
    toolbar.append(...Object.values(this.btn));
    this.imagesBox = el(doc, 'div', 'loupe-images');
    this.statusBox = el(doc, 'div', 'loupe-status');
    this.legend = new ModelLegend(doc, this.root, (t) => this.announce(t));
    this.answerBox = el(doc, 'div', 'loupe-answer');
    this.answerBox.setAttribute('aria-label', 'Answer');
    this.messages = el(doc, 'div', 'loupe-messages');
    this.live = el(doc, 'div', 'loupe-sr');
    this.live.setAttribute('aria-live', 'polite');
    this.elements = new ElementTable(doc, { hot: (id, on) => (on || id !== this.selected) && this.hot(id, on), select: (id) => this.focusRegion(id) });
    this.root.append(toolbar, this.legend.root, this.imagesBox, this.statusBox, this.answerBox, this.elements.root, this.messages, this.live);
    this.root.classList.toggle('hide-overlay', !s.overlay);
    this.root.classList.toggle('hide-labels', !s.labels);
    this.wire();
  }

  get view(): View {
    return this.sync.view;
  }

  setView(v: View, live = false): void {
    this.sync.set(v, live);
    this.root.classList.toggle('is-zoomed', v.z > 1);
  }

  update(r: LoupeResult): void {
    this.root.dataset.status = r.status;
    this.root.setAttribute('aria-busy', String(r.status === 'running'));
    // Which model answered: the cell may have named none (a default ran), and the status bar shows only the last.
    const models = [...new Set(r.runs.map((x) => modelLabel(x.model)).filter(Boolean))];
    this.statusBox.textContent = [r.status === 'running' ? 'Generating…' : '', models.length ? `${models.length > 1 ? 'Models' : 'Model'}: ${models.join(', ')}` : ''].filter(Boolean).join(' · ');
    const side = isSideBySide(r);
    this.legend.update(r, side);
    this.updateImages(r);
    if (side) this.updateColumns(r);
    else this.updateAnswer(r);
    // The element table colours and names rows as the overlay does.
    this.elements.update(this.refs, r.images.length > 1, side ? this.modelNames(r) : undefined);
    // Side by side, each column shows its model's warnings and error; the rest belong to the cell.
    const warnings = side ? r.warnings : [...r.warnings, ...r.runs.flatMap((x) => x.warnings)];
    const messages = [...(r.notes ?? []).map((n) => el(this.doc, 'div', 'loupe-note', n)), ...[...new Set(warnings)].map((w) => el(this.doc, 'div', 'loupe-warning', `⚠ ${w}`))];
    if (r.error) messages.push(el(this.doc, 'div', 'loupe-error', r.error));
    else if (!side) for (const run of r.runs) if (run.error) messages.push(el(this.doc, 'div', 'loupe-error', run.error));
    this.messages.replaceChildren(...messages);
    const hasRegions = this.regions.length > 0;
    const hasImages = this.figures.size > 0;
    for (const b of [this.btn.zoomIn, this.btn.zoomOut, this.btn.fit]) b.hidden = !hasImages;
    this.btn.overlay.hidden = this.btn.labels.hidden = this.btn.copy.hidden = !hasRegions;
    this.btn.layout.hidden = this.figures.size < 2;
    this.btn.draw.hidden = !hasImages || !this.deps.post;
    this.btn.ask.hidden = !hasRegions || !this.deps.post;
    this.select(this.selected !== undefined && this.figureOf.has(this.selected) ? this.selected : undefined);
  }

  dispose(): void {
    for (const f of this.figures.values()) f.dispose();
    this.figures.clear();
    this.root.remove();
  }

  private updateImages(r: LoupeResult): void {
    const count = r.images.length;
    const nodes: HTMLElement[] = [];
    const keep = new Set<number>();
    this.refs = regionRefs(r);
    this.regions = this.refs.map((x) => x.region);
    this.refsOf = refsByImage(this.refs);
    this.figureOf.clear();
    for (const img of r.images) {
      let fig = this.figures.get(img.index);
      // A streaming update leaves the bytes out: the image is the one this output already shows.
      const unchanged = img.display?.data === '' && fig !== undefined && fig.image.width === img.width && fig.image.height === img.height;
      if (!unchanged && (img.error || !img.display?.data || !(img.width > 0 && img.height > 0))) {
        nodes.push(el(this.doc, 'div', 'loupe-error', `Image ${img.index} (${img.source}): ${img.error ?? 'no display data'}`));
        continue;
      }
      // Same bytes, same element: streaming updates never reload (or flicker) an image.
      if (fig && !unchanged && (fig.data !== img.display!.data || fig.image.width !== img.width || fig.image.height !== img.height)) {
        this.sync.delete(fig);
        fig.dispose();
        fig = undefined;
      }
      if (!fig) {
        fig = new ImageFigure(this.doc, img, count, this.figureHost());
        this.figures.set(img.index, fig);
        this.sync.add(fig);
      }
      const refs = this.refsOf.get(img.index) ?? [];
      fig.describe(img, count, refs);
      fig.setRegions(refs);
      for (const ref of refs) this.figureOf.set(ref.id, fig);
      keep.add(img.index);
      nodes.push(fig.fig);
    }
    for (const [index, fig] of this.figures) {
      if (keep.has(index)) continue;
      this.sync.delete(fig);
      fig.dispose();
      this.figures.delete(index);
    }
    // Move only what is out of place, so focus and decoded images stay put.
    nodes.forEach((n, i) => {
      if (this.imagesBox.children[i] !== n) this.imagesBox.insertBefore(n, this.imagesBox.children[i] ?? null);
    });
    while (this.imagesBox.children.length > nodes.length) this.imagesBox.lastElementChild!.remove();
    applyLayout(this.imagesBox, this.deps.settings().layout, this.figures.size);
  }

  private updateAnswer(r: LoupeResult): void {
    const key = JSON.stringify(r.runs.map((x) => [x.answer, x.images, x.regions.map((g) => (g.span ? g.span.join(',') + g.label : ''))]));
    if (key === this.answerKey) return;
    this.answerKey = key;
    this.spansOf.clear();
    const add = (m: Map<number, HTMLElement[]>) => m.forEach((list, id) => this.spansOf.set(id, [...(this.spansOf.get(id) ?? []), ...list]));
    const refs = allRegions(r);
    const refsOfRun = (k: number) => refs.filter((x) => x.run === k);
    this.answerBox.classList.remove('loupe-columns');
    // One run per image (fan-out): each image shows its own answer under it.
    const perImage = r.runs.length > 1 && r.runs.every((x) => x.images.length === 1) && new Set(r.runs.map((x) => x.images[0])).size === r.runs.length;
    for (const [index, fig] of this.figures) {
      const k = perImage ? r.runs.findIndex((x) => x.images[0] === index) : -1;
      const run = r.runs[k];
      fig.answer.hidden = !run;
      if (!run) {
        fig.answer.replaceChildren();
        continue;
      }
      fig.answer.setAttribute('aria-label', `Answer for image ${index}`);
      add(renderAnswer(this.doc, fig.answer, run.answer, refsOfRun(k)));
    }
    const shown = perImage ? [] : r.runs.map((run, k) => ({ run, k })).filter((x) => x.run.answer);
    this.answerBox.hidden = shown.length === 0;
    const blocks = shown.map(({ run, k }) => {
      const block = el(this.doc, 'div', 'loupe-run-answer');
      block.dataset.run = String(k);
      add(renderAnswer(this.doc, block, run.answer, refsOfRun(k)));
      return block;
    });
    this.answerBox.replaceChildren(...blocks);
  }

  /**
   * Side by side: one column per model over the same images, each with its model's name and figures, its answers
   * (one per image when the model reads one image at a time), its warnings and its error.
   */
  private updateColumns(r: LoupeResult): void {
    const key = JSON.stringify(r.runs.map((x) => [x.modelIndex, x.status, x.answer, x.error, x.warnings, x.stats.totalMs, x.regions.map((g) => (g.span ? g.span.join(',') + g.label : ''))]));
    if (key === this.answerKey) return;
    this.answerKey = key;
    this.spansOf.clear();
    for (const fig of this.figures.values()) {
      fig.answer.hidden = true;
      fig.answer.replaceChildren();
    }
    const refs = allRegions(r);
    const byModel = new Map<number, { run: Run; k: number }[]>();
    r.runs.forEach((run, k) => byModel.set(run.modelIndex ?? 0, [...(byModel.get(run.modelIndex ?? 0) ?? []), { run, k }]));
    const columns = [...byModel.entries()].sort((a, b) => a[0] - b[0]).map(([m, runs]) => {
      const col = el(this.doc, 'section', 'loupe-column');
      col.dataset.model = String(m);
      const model = runs.find((x) => x.run.model)?.run.model;
      const name = modelLabel(model) || `Model ${m + 1}`;
      col.setAttribute('aria-label', `Answer of ${name}`);
      const status = runs.some((x) => x.run.status === 'running') ? 'generating…' : runs.some((x) => x.run.status === 'error') ? 'failed' : columnStats(runs.map((x) => x.run));
      const head = el(this.doc, 'div', 'loupe-column-head');
      head.append(el(this.doc, 'span', `loupe-swatch ${modelColorClass(m)}`), el(this.doc, 'strong', undefined, name), el(this.doc, 'span', 'loupe-column-stats', status));
      col.appendChild(head);
      for (const { run, k } of runs) {
        if (runs.length > 1) col.appendChild(el(this.doc, 'div', 'loupe-column-sub', `Image ${run.images.join(', ')}`));
        if (run.answer) {
          const block = el(this.doc, 'div', 'loupe-answer loupe-run-answer');
          block.dataset.run = String(k);
          const mine = refs.filter((x) => x.run === k).map(({ id, region }) => ({ id, region, model: m }));
          renderAnswer(this.doc, block, run.answer, mine).forEach((list, id) => this.spansOf.set(id, [...(this.spansOf.get(id) ?? []), ...list]));
          col.appendChild(block);
        }
        for (const w of run.warnings) col.appendChild(el(this.doc, 'div', 'loupe-warning', `⚠ ${w}`));
        if (run.error) col.appendChild(el(this.doc, 'div', 'loupe-error', run.error));
      }
      return col;
    });
    this.answerBox.classList.add('loupe-columns');
    this.answerBox.style.setProperty('--loupe-cols', String(Math.max(1, columns.length)));
    this.answerBox.hidden = columns.length === 0;
    this.answerBox.replaceChildren(...columns);
  }

  private figureHost() {
    return {
      outputId: this.deps.outputId,
      view: () => this.sync.view,
      setView: (v: View, live?: boolean) => this.setView(v, live),
      drawMode: () => (this.deps.post ? this.drawOn : undefined),
      ask: (m: AskAboutRegionMessage) => this.ask(m),
      regionHover: (id: number, on: boolean) => (on || id !== this.selected) && this.hot(id, on),
      regionFocus: (id: number) => {
        this.select(id);
        this.figureOf.get(id)?.reveal(id, this.refsOf.get(this.figureOf.get(id)!.image.index) ?? []);
      },
    };
  }

  /** Highlights a region, its chip and its text together. */
  private hot(id: number, on: boolean): void {
    const fig = this.figureOf.get(id);
    fig?.shape(id)?.classList.toggle('is-hot', on);
    fig?.chip(id)?.classList.toggle('is-hot', on);
    for (const s of this.spansOf.get(id) ?? []) s.classList.toggle('is-hot', on);
    this.elements.setHot(id, on);
  }

  private select(id: number | undefined): void {
    if (this.selected !== undefined && this.selected !== id) {
      this.figureOf.get(this.selected)?.shape(this.selected)?.classList.remove('is-selected');
      this.hot(this.selected, false);
    }
    this.selected = id;
    if (id !== undefined) {
      this.figureOf.get(id)?.shape(id)?.classList.add('is-selected');
      this.hot(id, true);
    }
    this.btn.copy.disabled = this.btn.ask.disabled = id === undefined;
    this.elements.setSelected(id);
  }

  private toggle(key: 'overlay' | 'labels'): void {
    const on = !this.deps.settings()[key];
    this.deps.saveSettings({ [key]: on });
    setPressed(this.btn[key], on);
    this.root.classList.toggle(key === 'overlay' ? 'hide-overlay' : 'hide-labels', !on);
  }

  private toggleLayout(): void {
    const layout: Layout = this.deps.settings().layout === 'grid' ? 'side' : 'grid';
    this.deps.saveSettings({ layout });
    setPressed(this.btn.layout, layout === 'grid');
    applyLayout(this.imagesBox, layout, this.figures.size);
  }

  private toggleDraw(): void {
    this.drawOn = !this.drawOn;
    setPressed(this.btn.draw, this.drawOn);
    this.root.classList.toggle('is-drawing', this.drawOn);
  }

  private ask(m: AskAboutRegionMessage): void {
    if (!this.deps.post) return;
    this.deps.post(m);
    this.announce(`Asking about [${m.box.join(', ')}] of image ${m.image.index} in a new cell.`);
  }

  private selectedRegion() {
    const id = this.selected;
    const region = id === undefined ? undefined : this.regions[id];
    return region && id !== undefined ? { id, region } : undefined;
  }

  private copySelected(): void {
    const sel = this.selectedRegion();
    if (!sel) return;
    const text = coordsText(sel.region);
    if (this.deps.post) this.deps.post({ type: 'copy', text });
    else void navigator.clipboard?.writeText(text).catch(() => undefined);
    this.announce(`Copied ${text}`);
  }

  private askSelected(): void {
    const sel = this.selectedRegion();
    const img = sel && this.figureOf.get(sel.id)?.image;
    if (!sel || !img) return;
    const xs = sel.region.coords.filter((_, i) => i % 2 === 0);
    const ys = sel.region.coords.filter((_, i) => i % 2 === 1);
    const clampX = (v: number) => Math.min(img.width, Math.max(0, v));
    const clampY = (v: number) => Math.min(img.height, Math.max(0, v));
    // A point becomes a small box around it; everything is clamped to whole pixels inside the image.
    const pad = sel.region.kind === 'point' ? 8 : 0;
    const box: [number, number, number, number] = [
      clampX(Math.floor(Math.min(...xs) - pad)),
      clampY(Math.floor(Math.min(...ys) - pad)),
      clampX(Math.ceil(Math.max(...xs) + pad)),
      clampY(Math.ceil(Math.max(...ys) + pad)),
    ];
    if (box[2] <= box[0] || box[3] <= box[1]) return;
    this.ask({ type: 'askAboutRegion', ...(this.deps.outputId ? { outputId: this.deps.outputId } : {}), image: { index: img.index, source: img.source }, box });
  }

  private announce(text: string): void {
    this.live.textContent = text;
  }

  private wire(): void {
    // Text → regions: hovering a piece of the answer lights up every region it names.
    const idsOf = (t: EventTarget | null) => ((t as Element | null)?.closest?.('.loupe-ref') as HTMLElement | null)?.dataset.regions?.split(' ').map(Number) ?? [];
    this.root.addEventListener('pointerover', (e) => idsOf(e.target).forEach((id) => this.hot(id, true)));
    this.root.addEventListener('pointerout', (e) => idsOf(e.target).forEach((id) => id !== this.selected && this.hot(id, false)));
    this.root.addEventListener('keydown', (e) => {
      const region = (e.target as Element).closest?.('.loupe-region');
      if (!region || e.altKey || e.metaKey) return;
      if (e.key === 'c' || (e.key === 'C' && !e.ctrlKey) || (e.ctrlKey && e.key === 'c')) {
        e.preventDefault();
        this.copySelected();
      } else if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.askSelected();
      }
    });
  }

  /** Side by side: each model's name by its index, for the element table's model column. */
  private modelNames(r: LoupeResult): string[] {
    const names: string[] = [];
    for (const run of r.runs) if (run.modelIndex !== undefined && names[run.modelIndex] === undefined) names[run.modelIndex] = modelLabel(run.model) || `Model ${run.modelIndex + 1}`;
    return Array.from(names, (n, i) => n ?? `Model ${i + 1}`);
  }

  /** A table row chose a region: select it and bring its box into view, keeping focus on the row. */
  private focusRegion(id: number): void {
    this.select(id);
    const fig = this.figureOf.get(id);
    fig?.reveal(id, this.refsOf.get(fig.image.index) ?? []);
  }
}

/** `1.2 s · 12 tok`: how long a model took and how much it wrote. */
function columnStats(runs: Run[]): string {
  const ms = runs.reduce((a, x) => a + (x.stats.totalMs ?? 0), 0);
  const tok = runs.reduce((a, x) => a + (x.stats.generatedTokens ?? 0), 0);
  return [ms ? (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`) : '', tok ? `${tok} tok` : ''].filter(Boolean).join(' · ');
}
