// The answer text, split at region spans so that text and regions can highlight each other. Text only, never HTML.
import type { Region } from '../src/common/result';
import { el } from './dom';
import { colorClass } from './overlay';

export interface Segment {
  start: number;
  end: number;
  /** Ids of the regions whose span covers this piece of text. */
  regions: number[];
}

/** Cuts [from, to) of the text at every span boundary; spans may overlap. */
export function segments(regions: Region[], from: number, to: number): Segment[] {
  const cuts = new Set([from, to]);
  regions.forEach((r) => {
    if (!r.span) return;
    for (const c of r.span) if (c > from && c < to) cuts.add(c);
  });
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) out.push({ start: sorted[i]!, end: sorted[i + 1]!, regions: [] });
  // Each span covers a run of consecutive segments: find its first by binary search (1000 regions stay cheap).
  regions.forEach((r, id) => {
    if (!r.span || r.span[1] <= r.span[0]) return;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (out[mid]!.start < r.span[0]) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < out.length && out[i]!.end <= r.span[1]; i++) out[i]!.regions.push(id);
  });
  return out;
}

/** Renders text[from, to) into `into`; returns the span elements of each region id. */
export function renderAnswer(doc: Document, into: HTMLElement, text: string, regions: Region[], from = 0, to = text.length): Map<number, HTMLElement[]> {
  const byRegion = new Map<number, HTMLElement[]>();
  const frag = doc.createDocumentFragment();
  for (const s of segments(regions, from, to)) {
    const piece = text.slice(s.start, s.end);
    if (!s.regions.length) {
      frag.appendChild(doc.createTextNode(piece));
      continue;
    }
    const span = el(doc, 'span', `loupe-ref ${colorClass(regions[s.regions[0]!]!.label)}`, piece);
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

/** Where each fan-out answer sits in the combined answer (the spans index the combined text). */
export function locateAnswers(answer: string, answers: { image: number; text: string }[]): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  let from = 0;
  for (const a of answers) {
    const at = answer.indexOf(a.text, from);
    if (at < 0) continue;
    out.set(a.image, [at, at + a.text.length]);
    from = at + a.text.length;
  }
  return out;
}
