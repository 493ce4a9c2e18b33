// A run's answer text, split at region spans so that text and regions can highlight each other. Text only, never HTML.
import { el } from './dom';
import { refClass, type RegionRef } from './overlay';

export interface Segment {
  start: number;
  end: number;
  /** Ids of the regions whose span covers this piece of text. */
  regions: number[];
}

/** Cuts [0, length) of a run's text at every span boundary of its regions; spans may overlap. */
export function segments(refs: RegionRef[], length: number): Segment[] {
  const cuts = new Set([0, length]);
  for (const { region: r } of refs) {
    if (!r.span) continue;
    for (const c of r.span) if (c > 0 && c < length) cuts.add(c);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) out.push({ start: sorted[i]!, end: sorted[i + 1]!, regions: [] });
  // Each span covers a run of consecutive segments: find its first by binary search (1000 regions stay cheap).
  for (const { id, region: r } of refs) {
    if (!r.span || r.span[1] <= r.span[0]) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (out[mid]!.start < r.span[0]) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < out.length && out[i]!.end <= r.span[1]; i++) out[i]!.regions.push(id);
  }
  return out;
}

/** Renders a run's text into `into`; returns the span elements of each region id. */
export function renderAnswer(doc: Document, into: HTMLElement, text: string, refs: RegionRef[]): Map<number, HTMLElement[]> {
  const byRegion = new Map<number, HTMLElement[]>();
  const classOf = new Map(refs.map((r) => [r.id, refClass(r)]));
  const frag = doc.createDocumentFragment();
  for (const s of segments(refs, text.length)) {
    const piece = text.slice(s.start, s.end);
    if (!s.regions.length) {
      frag.appendChild(doc.createTextNode(piece));
      continue;
    }
    const span = el(doc, 'span', `loupe-ref ${classOf.get(s.regions[0]!) ?? ''}`, piece);
    span.dataset.regions = s.regions.join(' ');
    for (const id of s.regions) {
      const list = byRegion.get(id) ?? [];
      list.push(span);
      byRegion.set(id, list);
    }
    frag.appendChild(span);
  }
  into.replaceChildren(frag);
  return byRegion;
}
