// Side by side (`@model a, b`): one toggle per model, in its colour (the legend of the regions' colours). Pressing
// one hides or shows that model's regions through a `hide-m<i>` class on the view's root (styles.ts).
import { modelColorClass } from './overlay';
import { modelLabel } from '../src/common/labels';
import { resultModels, type LoupeResult } from '../src/common/result';
import { button, el, setPressed } from './dom';

export class ModelLegend {
  readonly root: HTMLElement;
  private key = '';
  /** Models whose regions the user hid, for this output. */
  private readonly hidden = new Set<number>();

  constructor(
    private readonly doc: Document,
    /** The view's root: it carries the hide-m<i> classes. */
    private readonly view: HTMLElement,
    private readonly announce: (text: string) => void,
  ) {
    this.root = el(doc, 'div', 'loupe-legend');
    this.root.setAttribute('role', 'group');
    this.root.setAttribute('aria-label', 'Models: show or hide each model’s regions');
    this.root.hidden = true;
  }

  update(r: LoupeResult, side: boolean): void {
    const models = side ? resultModels(r) : [];
    const key = JSON.stringify(models.map((m) => modelLabel(m)));
    if (key === this.key) return;
    this.key = key;
    this.root.hidden = models.length === 0;
    this.root.replaceChildren(
      ...models.map((m, i) => {
        const b = button(this.doc, '', `Show ${modelLabel(m)}’s regions`, () => this.toggle(i, b), !this.hidden.has(i));
        b.classList.add('loupe-legend-item');
        b.dataset.model = String(i);
        b.append(el(this.doc, 'span', `loupe-swatch ${modelColorClass(i)}`), this.doc.createTextNode(modelLabel(m)));
        return b;
      }),
    );
  }

  private toggle(i: number, b: HTMLButtonElement): void {
    const hide = !this.hidden.has(i);
    if (hide) this.hidden.add(i);
    else this.hidden.delete(i);
    setPressed(b, !hide);
    this.view.classList.toggle(`hide-m${i}`, hide);
    this.announce(`${hide ? 'Hid' : 'Showing'} the regions of ${b.textContent}.`);
  }
}
