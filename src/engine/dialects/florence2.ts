// Florence-2 answers: `label<loc_x1><loc_y1><loc_x2><loc_y2>` boxes and eight-`<loc_>` OCR quads, in 1000 bins.
import type { Region } from '../../common/result';
import { RegionCollector } from './collect';
import { fromPixel, type Size } from './frames';

export interface FlorenceParsed {
  text: string;
  regions: Region[];
  warnings: string[];
}

const SPECIAL = /<\/?s>|<pad>/g;
const RUN = /((?:<loc_\d+>)+)/g;
const LOC = /<loc_(\d+)>/g;

/**
 * Splits the answer into label text and runs of location tokens. A run of 4 is a box, of 8 a quad
 * (when quads are expected), of 2 a point; other lengths are dropped and counted.
 */
export function parseFlorence(raw: string, size: Size, opts: { quads: boolean; image?: number }): FlorenceParsed {
  const text = String(raw).replace(SPECIAL, '');
  const c = new RegionCollector(opts.image ?? 1, size, { kind: 'bins1000' });
  const per = opts.quads ? 8 : 4;
  // OCR lines read best one per line; object labels as a list.
  const sep = opts.quads ? '\n' : ', ';
  let last = 0;
  let current: { label: string; span: [number, number] } | undefined;
  for (const m of text.matchAll(RUN)) {
    const label = text.slice(last, m.index).trim();
    last = m.index! + m[0].length;
    if (label) {
      if (c.text) c.append(sep);
      current = { label, span: c.append(label) };
    }
    // Florence repeats a label's boxes without repeating the label.
    current ??= { label: '', span: [c.text.length, c.text.length] };
    const values = [...m[1]!.matchAll(LOC)].map((x) => Number(x[1]));
    let i = 0;
    for (; i + per <= values.length; i += per) {
      const v = values.slice(i, i + per);
      if (v.some((n) => n > 999)) {
        c.drop('a location token is outside <loc_0>…<loc_999>');
        continue;
      }
      c.add(per === 8 ? 'quad' : 'box', current.label, v, current.span, `${current.label}${v.map((n) => `<loc_${n}>`).join('')}`);
    }
    const rest = values.length - i;
    if (rest === 2 && values.length === 2) c.add('point', current.label, values, current.span, m[0]);
    else if (rest > 0) c.drop(`an incomplete ${per === 8 ? 'quad' : 'box'} (${rest} location token${rest === 1 ? '' : 's'})`);
  }
  const tail = text.slice(last).trim();
  if (tail) {
    if (c.text) c.append(sep);
    c.append(tail);
  }
  return { text: c.text.trimEnd(), regions: c.regions, warnings: c.warnings() };
}

/** A region in original pixels as Florence-2's four `<loc_N>` tokens. */
export function florenceLocTokens(box: readonly number[], size: Size): string {
  return box.map((v, i) => `<loc_${fromPixel(v, i % 2 === 0 ? 'x' : 'y', size, { kind: 'bins1000' })}>`).join('');
}
