// Comparison of several images: side by side or grid, all driven by one zoom/pan state (synchronized).
import type { View } from './viewport';
import { IDENTITY } from './viewport';

export type Layout = 'side' | 'grid';

/** Columns for the grid: 2 images → 2, 3–4 → 2, 5–9 → 3… (as square as possible). */
export function gridColumns(n: number): number {
  return n <= 2 ? n : Math.ceil(Math.sqrt(n));
}

export function applyLayout(container: HTMLElement, layout: Layout, count: number): void {
  container.dataset.layout = count > 1 ? layout : 'single';
  container.style.setProperty('--loupe-cols', String(layout === 'grid' ? gridColumns(count) : count));
}

interface ViewTarget {
  applyView(v: View, live?: boolean): void;
}

/** One view shared by every image of a result; setting it moves them all in the same frame. */
export class ViewSync {
  private current: View = IDENTITY;
  private readonly targets = new Set<ViewTarget>();

  get view(): View {
    return this.current;
  }

  set(v: View, live = false): void {
    this.current = v;
    for (const t of this.targets) t.applyView(v, live);
  }

  add(t: ViewTarget): void {
    this.targets.add(t);
    t.applyView(this.current);
  }

  delete(t: ViewTarget): void {
    this.targets.delete(t);
  }
}
