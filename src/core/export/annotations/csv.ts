// Answers as a table: `answers.csv` (RFC 4180 quoting, UTF-8, `\n` line ends; `regions` is a count) and
// `answers.jsonl` (the same fields per row, `regions` as the full array in upright pixels). Every row, errors included;
// `image` is the path relative to the notebook's folder, `ms` the row's total time.
import type { AnnotationGroup, OutFile } from './common';

const COLUMNS = ['image', 'model', 'status', 'answer', 'regions', 'ms', 'error'] as const;

/** A field quoted when it holds a comma, a quote, CR or LF, with its quotes doubled. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvFiles(g: AnnotationGroup): OutFile[] {
  const records = g.rows.map((r) => ({
    image: r.image,
    model: r.model?.id ?? null,
    status: r.status,
    answer: r.answer,
    regions: r.regions,
    ms: r.stats.totalMs ?? null,
    error: r.error ?? null,
  }));
  const line = (rec: (typeof records)[number]) => COLUMNS.map((c) => csvField(c === 'regions' ? String(rec.regions.length) : String(rec[c] ?? ''))).join(',');
  return [
    { path: 'answers.csv', data: [COLUMNS.join(','), ...records.map(line)].join('\n') + '\n' },
    { path: 'answers.jsonl', data: records.map((rec) => JSON.stringify(rec) + '\n').join('') },
  ];
}
