// The element list of a screen (`@task list-elements`, detector boxes): a table synced with the overlay. Hovering a
// row lights its box, clicking (or Enter on) a row selects the region, selecting a box selects its row. Arrow keys
// move between rows. Model text goes in through textContent only.
import { regionBounds } from '../src/common/regions';
import type { Region } from '../src/common/result';
import { el } from './dom';
import { modelColorClass, refClass, type RegionRef } from './overlay';

export interface ElementTableHost {
  hot(id: number, on: boolean): void;
  select(id: number): void;
}

/** The regions a table lists: those with an element type (UI elements, detector boxes). */
export function elementRows<T extends { id: number; region: Region }>(all: T[]): T[] {
  return all.filter((x) => x.region.type !== undefined);
}

export class ElementTable {
  readonly root: HTMLElement;
  private readonly rows = new Map<number, HTMLTableRowElement>();
  private key = '';

  constructor(
    private readonly doc: Document,
    private readonly host: ElementTableHost,
  ) {
    // The table is built on the first element: results without elements carry no table at all.
    this.root = el(doc, 'div', 'loupe-elements');
    this.root.hidden = true;
  }

  private body_: HTMLTableSectionElement | undefined;

  private get body(): HTMLTableSectionElement {
    if (this.body_) return this.body_;
    const doc = this.doc;
    const table = el(doc, 'table', 'loupe-elements-table');
    table.setAttribute('aria-label', 'Elements');
    const head = table.createTHead().insertRow();
    for (const h of ['#', 'type', 'text', 'box', 'image']) head.appendChild(el(doc, 'th', undefined, h)).setAttribute('scope', 'col');
    const body = table.createTBody();
    this.root.appendChild(table);
    body.addEventListener('pointerover', (e) => this.idOf(e.target, (id) => this.host.hot(id, true)));
    body.addEventListener('pointerout', (e) => this.idOf(e.target, (id) => this.host.hot(id, false)));
    body.addEventListener('click', (e) => this.idOf(e.target, (id) => this.host.select(id)));
    body.addEventListener('keydown', (e) => {
      const row = (e.target as Element).closest?.('tr');
      if (!row || !(row as HTMLElement).dataset.region) return;
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.host.select(Number((row as HTMLElement).dataset.region));
      } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const next = (e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling) as HTMLElement | null;
        next?.focus();
      }
    });
    body.addEventListener('focusin', (e) => this.idOf(e.target, (id) => this.host.hot(id, true)));
    body.addEventListener('focusout', (e) => this.idOf(e.target, (id) => this.host.hot(id, false)));
    this.body_ = body;
    return body;
  }

  private idOf(t: EventTarget | null, fn: (id: number) => void): void {
    const id = ((t as Element | null)?.closest?.('tr') as HTMLElement | null)?.dataset.region;
    if (id !== undefined) fn(Number(id));
  }

  /**
   * `models`: side by side (`@model a, b`), each model's name by index; a row then carries its model's swatch (the
   * legend's colour) and name, and fades with the model's regions when the legend hides them.
   */
  update(all: RegionRef[], multiImage: boolean, models?: readonly string[]): void {
    const rows = elementRows(all);
    const key = JSON.stringify([models ?? null, rows.map((r) => [r.id, r.model, r.region.type, r.region.label, r.region.coords])]);
    if (key === this.key) return;
    this.key = key;
    this.rows.clear();
    this.root.hidden = rows.length === 0;
    if (rows.length === 0 && !this.body_) return;
    this.root.classList.toggle('one-image', !multiImage);
    const trs = rows.map((ref, n) => {
      const { id, region } = ref;
      const model = models && ref.model !== undefined ? (models[ref.model] ?? `Model ${ref.model + 1}`) : '';
      const tr = this.doc.createElement('tr');
      tr.dataset.region = String(id);
      tr.tabIndex = 0;
      tr.className = refClass(ref);
      const box = regionBounds(region).map((v) => Math.round(v));
      const text = region.label && region.label !== region.type ? region.label : '';
      tr.setAttribute('aria-label', `Element ${n + 1}${model ? ` from ${model}` : ''}: ${region.type}${text ? `, ${text}` : ''}, ${region.kind === 'point' ? 'point' : 'box'} [${box.join(', ')}]`);
      const num = el(this.doc, 'td', 'loupe-el-n', String(n + 1));
      if (model && ref.model !== undefined) {
        num.prepend(el(this.doc, 'span', `loupe-swatch ${modelColorClass(ref.model)}`));
        num.title = model;
      }
      tr.append(
        num,
        el(this.doc, 'td', 'loupe-el-type', region.type ?? ''),
        el(this.doc, 'td', 'loupe-el-text', text || '—'),
        el(this.doc, 'td', 'loupe-el-box', region.kind === 'point' ? `[${box.slice(0, 2).join(', ')}]` : `[${box.join(', ')}]`),
        el(this.doc, 'td', 'loupe-el-image', String(region.image)),
      );
      this.rows.set(id, tr);
      return tr;
    });
    this.body.replaceChildren(...trs);
  }

  setHot(id: number, on: boolean): void {
    this.rows.get(id)?.classList.toggle('is-hot', on);
  }

  /** The selected region's row: marked, and scrolled into view within the table. */
  setSelected(id: number | undefined): void {
    for (const [rid, tr] of this.rows) tr.setAttribute('aria-selected', String(rid === id));
    if (id !== undefined) this.rows.get(id)?.scrollIntoView?.({ block: 'nearest' });
  }
}

/** Class of a region's chip for a tappable answer: a badge (✓ / ✗) in the stylesheet. */
export function tappableClass(r: Region): string | undefined {
  return r.tappable === undefined ? undefined : r.tappable ? 'is-tappable' : 'is-not-tappable';
}
