// Shared bookkeeping for answer parsers: cleaned text with spans, repaired regions, warnings.
import type { Region } from '../../common/result';
import { pointsToPixels, repair, type Frame, type Size } from './frames';

export class RegionCollector {
  text = '';
  readonly regions: Region[] = [];
  private repaired = 0;
  private dropped = new Map<string, number>();

  constructor(
    private readonly image: number,
    private readonly size: Size,
    private readonly frame: Frame,
  ) {}

  /** Appends answer text; returns its span in the cleaned text. */
  append(s: string): [number, number] {
    // Leading space would be trimmed later and shift every span: drop it now.
    if (!this.text) s = s.trimStart();
    const start = this.text.length;
    this.text += s;
    return [start, this.text.length];
  }

  add(kind: Region['kind'], label: string, modelCoords: number[], span: [number, number], raw: string, image = this.image, size = this.size): void {
    const r = repair(kind, pointsToPixels(modelCoords, size, this.frame), size);
    if (r.coords === undefined) {
      this.dropped.set(r.reason, (this.dropped.get(r.reason) ?? 0) + 1);
      return;
    }
    if (r.repaired) this.repaired++;
    this.regions.push({ image, label, kind, coords: r.coords, span, raw });
  }

  drop(reason: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  warnings(): string[] {
    const w: string[] = [];
    if (this.repaired) w.push(`${this.repaired} region${this.repaired === 1 ? ' was' : 's were'} outside the image or inverted and ${this.repaired === 1 ? 'was' : 'were'} clamped and reordered`);
    for (const [reason, n] of this.dropped) w.push(`${n} region${n === 1 ? '' : 's'} dropped: ${reason}`);
    return w;
  }
}
