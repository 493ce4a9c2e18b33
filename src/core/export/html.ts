// One self-contained HTML file: images inline as data: URLs, regions as inline SVG over each image
// (viewBox = the image's natural size, so boxes in original pixels scale with the display copy), label chips,
// answers as escaped text, light and dark styles from prefers-color-scheme, and nothing loaded from anywhere.
import { modelLabel } from '../../common/labels';
import { escapeHtml } from '../../common/markup';
import { coordsText, labelAnchor, regionInImage, regionName, regionShape, shapeSvg } from '../../common/regions';
import { allRegions, isSideBySide, mainModel, regionColor, resultModels, type LoupeResult, type Region, type ResultImage } from '../../common/result';
import { modelColor } from '../../common/colors';
import { formatPercent, hitRate, meanIou } from '../../common/batch';
import { clipFacts, formatTime } from '../../common/video';
import { parseCell } from '../cells/parser';
import type { StoredNotebook } from '../notebook/format';
import {
  FIXTURE_NOTE,
  cellViews,
  frameCaption,
  regionPlace,
  isFixtureResult,
  notebookTitle,
  otherOutput,
  resultSummary,
  runHeading,
  runText,
  type CellView,
  type ExportFile,
  type ExportOptions,
  type OutputView,
} from './common';
import { markdownToHtml } from './minimark';

const CSS = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --code-bg: #f6f8fa; --err: #cf222e; --warn: #9a6700; --fixture-bg: #fff8c5; --fixture-fg: #4d2d00; --fixture-border: #d4a72c; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --code-bg: #151b23; --err: #ff7b72; --warn: #d29922; --fixture-bg: #3b2e00; --fixture-fg: #f2cc60; --fixture-border: #9e6a03; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 64px; }
header.doc { border-bottom: 1px solid var(--border); margin-bottom: 16px; padding-bottom: 8px; }
header.doc .sub { color: var(--muted); font-size: 13px; }
.cell { margin: 18px 0; }
.cell.code { border: 1px solid var(--border); border-radius: 8px; padding: 12px 14px; }
.cell-head { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; color: var(--muted); font-size: 12px; margin-bottom: 6px; }
pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
pre { background: var(--code-bg); padding: 8px 10px; border-radius: 6px; overflow-x: auto; margin: 0 0 10px; white-space: pre-wrap; }
code { background: var(--code-bg); padding: 0 3px; border-radius: 4px; }
pre code { padding: 0; background: none; }
.images { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
figure.shot { margin: 0; max-width: 100%; }
.frame { position: relative; display: inline-block; line-height: 0; max-width: 100%; }
.frame img { display: block; max-width: 100%; height: auto; border: 1px solid var(--border); }
.frame svg.overlay { position: absolute; left: 0; top: 0; width: 100%; height: 100%; overflow: visible; pointer-events: none; }
.frame .chip { position: absolute; transform: translateY(-100%); line-height: 1.3; font-size: 11px; color: #fff; padding: 0 4px; border-radius: 3px 3px 3px 0; white-space: nowrap; max-width: 40ch; overflow: hidden; text-overflow: ellipsis; pointer-events: none; }
.frame .chip.inside { transform: none; border-radius: 0 0 3px 0; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; line-height: 1.4; }
.answer { white-space: pre-wrap; margin: 10px 0 6px; font-size: 15px; }
.columns { display: grid; grid-template-columns: repeat(var(--cols), minmax(0, 1fr)); gap: 12px; }
.answer.column { border-left: 4px solid var(--border); padding-left: 8px; }
.answer.run-error { color: var(--err); }
table.batch, table.batch-score { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
table.batch td, table.batch th, table.batch-score td, table.batch-score th { border-bottom: 1px solid var(--border); padding: 3px 6px; text-align: left; vertical-align: top; }
table.batch tr[data-status="error"] td { color: var(--err); }
.batch-answer { white-space: pre-wrap; max-width: 60ch; }
.legend { display: flex; flex-wrap: wrap; gap: 12px; margin: 6px 0; font-size: 13px; }
.regions { margin: 6px 0 0; padding-left: 0; list-style: none; font-size: 13px; }
.regions li { margin: 2px 0; }
.regions .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.regions .coords { color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.error { color: var(--err); white-space: pre-wrap; margin: 6px 0; }
.error strong { display: block; }
.warning, .note { color: var(--warn); font-size: 13px; margin: 4px 0; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; border-radius: 10px; padding: 0 8px; border: 1px solid var(--border); }
.badge.fixture { background: var(--fixture-bg); color: var(--fixture-fg); border-color: var(--fixture-border); }
.badge.status-error { color: var(--err); border-color: var(--err); }
.fixture-banner { background: var(--fixture-bg); color: var(--fixture-fg); border: 1px solid var(--fixture-border); border-radius: 6px; padding: 8px 12px; margin: 12px 0; }
.md-image { color: var(--muted); }
.clip { margin: 4px 0 8px; }
.clip-facts { color: var(--muted); font-size: 13px; }
.timeline { position: relative; height: 14px; margin: 6px 4px; border-bottom: 2px solid var(--border); }
.timeline .tick { position: absolute; bottom: -2px; width: 6px; height: 10px; margin-left: -3px; background: var(--muted); border-radius: 1px; }
.timeline .tick.found { background: #d18616; height: 14px; }
.images.filmstrip figure.shot { max-width: 240px; }
.images.filmstrip figcaption { font-variant-numeric: tabular-nums; }
a { color: #0969da; }
@media (prefers-color-scheme: dark) { a { color: #4493f8; } }
`;

/** Renders the notebook as one HTML file, `${name}.html`. */
export function exportHtml(nb: StoredNotebook, opts: ExportOptions): ExportFile[] {
  return [{ path: `${opts.name}.html`, data: new TextEncoder().encode(renderHtml(nb, opts)) }];
}

export function renderHtml(nb: StoredNotebook, opts: ExportOptions): string {
  const views = cellViews(nb);
  const title = notebookTitle(nb, opts.notebookName ?? opts.name);
  const fixtures = views.flatMap((v) => v.outputs).filter((o) => o.type === 'result' && isFixtureResult(o.result)).length;
  const body = views.map(renderCell).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="Loupe">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header class="doc"><div class="sub">Loupe notebook${opts.notebookName ? ` · ${escapeHtml(opts.notebookName)}` : ''}</div></header>
${fixtures ? `<div class="fixture-banner" role="note" data-fixture-count="${fixtures}"><strong>Fixture models.</strong> ${fixtures} answer${fixtures === 1 ? '' : 's'} in this page come${fixtures === 1 ? 's' : ''} from generated test models with scripted answers, not from real models; each is marked <span class="badge fixture">fixture model</span>.</div>` : ''}
${body}
</main>
</body>
</html>
`;
}

function renderCell(v: CellView): string {
  if (v.cell.kind === 'markdown') return `<section class="cell markdown" id="cell-${v.index}">${markdownToHtml(v.cell.source)}</section>`;
  const failed = v.outputs.some((o) => o.type === 'error' || (o.type === 'result' && o.result.status === 'error'));
  const head = `<div class="cell-head"><span>cell ${v.index}</span>${failed ? '<span class="badge status-error">failed</span>' : ''}</div>`;
  return `<section class="cell code" id="cell-${v.index}"${failed ? ' data-status="error"' : ''}>${head}<pre class="source"><code>${escapeHtml(v.cell.source)}</code></pre>${v.outputs.map((o) => renderOutput(o, asked(v.cell.source))).join('')}</section>`;
}

/** The `@region` boxes a cell asks about, drawn dashed so the reader sees what was referred to. */
function asked(source: string): Region[] {
  return parseCell(source).regions.map((r) => ({ image: r.image, label: '', kind: 'box', coords: [...r.box] }));
}

function renderOutput(o: OutputView, askedRegions: Region[]): string {
  switch (o.type) {
    case 'error':
      return `<div class="error" role="alert"><strong>${escapeHtml(o.error.name)}</strong>${escapeHtml(o.error.message)}</div>`;
    case 'other': {
      const v = otherOutput(o.items);
      return [
        v.text !== undefined ? `<pre class="other">${escapeHtml(v.text)}</pre>` : '',
        v.image ? `<img class="other" src="data:${v.image.mime};base64,${Buffer.from(v.image.data).toString('base64')}" alt="an output image">` : '',
        ...v.notes.map((n) => `<div class="note" data-left-out="true">Not in this export: ${escapeHtml(n)}.</div>`),
      ].join('');
    }
    case 'result':
      return renderResult(o.result, o.result.kind === 'prompt' ? askedRegions : []);
  }
}

/** A batch: its summary, scores and the rows the output holds (the rest are in its sidecar, named). */
function renderBatch(r: LoupeResult): string {
  const b = r.batch!;
  const parts = [`<div class="cell-head result-head" data-task="${escapeHtml(r.task)}"><span>${escapeHtml(`${r.task} · batch of ${b.images} image${b.images === 1 ? '' : 's'}${b.models > 1 ? ` × ${b.models} models` : ''} · ${b.ok} ok, ${b.errors} errors · ${b.state}`)}</span></div>`];
  if (b.scores?.length) {
    parts.push(
      `<table class="batch-score"><thead><tr><th>Model</th><th>Images</th><th>True boxes</th><th>Hits (IoU ≥ 0.5)</th><th>Hit rate</th><th>Mean IoU</th></tr></thead><tbody>${b.scores
        .map((s) => `<tr><td>${escapeHtml(modelLabel(s.model))}</td><td>${s.images}</td><td>${s.truth}</td><td>${s.hits}</td><td>${formatPercent(hitRate(s))}</td><td>${meanIou(s).toFixed(3)}</td></tr>`)
        .join('')}</tbody></table>`,
    );
  }
  parts.push(
    `<table class="batch"><thead><tr><th></th><th>Image</th>${b.models > 1 ? '<th>Model</th>' : ''}<th>Answer</th><th>Regions</th><th>Status</th></tr></thead><tbody>${b.rows
      .map(
        (row) =>
          `<tr data-status="${row.status}"><td>${row.thumb?.data ? `<img src="data:${row.thumb.mime};base64,${row.thumb.data}" width="${row.thumb.width}" height="${row.thumb.height}" alt="">` : ''}</td><td>${escapeHtml(row.image)}</td>${b.models > 1 ? `<td>${escapeHtml(modelLabel(row.model))}</td>` : ''}<td class="batch-answer">${escapeHtml(row.status === 'ok' ? row.answer : (row.error ?? 'failed'))}</td><td>${row.regions.length}</td><td>${row.status}</td></tr>`,
      )
      .join('')}</tbody></table>`,
  );
  const rest = b.images * b.models - b.rows.length;
  if (rest > 0) parts.push(`<div class="note">${escapeHtml(`${rest} more rows are in ${b.sidecar}, next to the notebook (Export Session… → COCO, YOLO, Label Studio or CSV writes them all).`)}</div>`);
  if (b.error) parts.push(`<div class="error">${escapeHtml(b.error)}</div>`);
  return `<div class="result" data-kind="batch" data-status="${escapeHtml(r.status)}">${parts.join('')}</div>`;
}

function renderResult(r: LoupeResult, askedRegions: Region[]): string {
  if (r.kind === 'batch' && r.batch) return renderBatch(r);
  const parts: string[] = [];
  const fixture = isFixtureResult(r);
  const all = allRegions(r);
  const regions = all.map((x) => ({ ...x.region, color: regionColor(r, x.run, x.region) }));
  const side = isSideBySide(r);
  if (r.kind === 'prompt') {
    const summary = resultSummary(r);
    parts.push(
      `<div class="cell-head result-head" data-task="${escapeHtml(r.task)}">${fixture ? `<span class="badge fixture" data-fixture="true" title="${escapeHtml(FIXTURE_NOTE)}">fixture model</span>` : ''}<span>${escapeHtml(summary)}</span></div>`,
    );
  }
  for (const v of r.videos ?? []) parts.push(clipHtml(r, v));
  // Side by side: a legend says which colour is which model (regions are drawn in their model's colour).
  if (side) {
    parts.push(
      `<div class="legend">${resultModels(r)
        .map((m, i) => `<span class="legend-item" data-model-index="${i}"><span class="swatch" style="background:${modelColor(i)}"></span>${escapeHtml(modelLabel(m))}</span>`)
        .join('')}</div>`,
    );
  }
  if (r.images.length) parts.push(`<div class="images${r.videos?.length ? ' filmstrip' : ''}">${r.images.map((img) => renderImage(img, regions.filter((g) => g.image === img.index), askedRegions.filter((g) => g.image === img.index))).join('')}</div>`);
  const answers = r.runs.map((run, k) => {
    const t = runText(run);
    if (!t) return '';
    const head = runHeading(r, run);
    const model = side ? ` data-model-index="${run.modelIndex ?? 0}" style="border-left-color:${modelColor(run.modelIndex ?? 0)}"` : '';
    return `<div class="answer${side ? ' column' : ''}${t.error ? ' run-error' : ''}" data-run="${k}"${model}${fixture ? ' data-fixture="true"' : ''}>${head ? `<strong class="run-head">${escapeHtml(head)}:</strong>${side ? '\n' : ' '}` : ''}${escapeHtml(t.text)}</div>`;
  });
  if (answers.some(Boolean)) parts.push(side ? `<div class="columns" style="--cols:${resultModels(r).length}">${answers.join('')}</div>` : answers.join(''));
  if (regions.length) {
    parts.push(
      `<ul class="regions">${all
        .map(({ region: g, run }, i) => {
          const by = side ? ` · ${modelLabel(r.runs[run]?.model)}` : '';
          return `<li><span class="swatch" style="background:${regions[i]!.color}"></span>${escapeHtml(regionName(g))} <span class="coords">${coordsText(g)}${regionPlace(r, g.image)}${escapeHtml(by)}</span></li>`;
        })
        .join('')}</ul>`,
    );
  }
  for (const n of r.notes ?? []) parts.push(`<div class="note">${escapeHtml(n)}</div>`);
  for (const w of [...new Set([...r.warnings, ...r.runs.flatMap((x) => x.warnings)])]) parts.push(`<div class="warning">${escapeHtml(w)}</div>`);
  if (r.error && r.status === 'error') parts.push(`<div class="error">${escapeHtml(r.error)}</div>`);
  const model = mainModel(r);
  return `<div class="result" data-kind="${r.kind}" data-status="${escapeHtml(r.status)}"${fixture ? ' data-fixture="true"' : ''}${model ? ` data-model="${escapeHtml(modelLabel(model))}"` : ''}>${parts.join('')}</div>`;
}

/** A clip's facts and its timeline: a mark per sampled frame, filled where regions were found. */
function clipHtml(r: LoupeResult, v: NonNullable<LoupeResult['videos']>[number]): string {
  if (v.error) return `<div class="clip error" data-video="${v.index}">${escapeHtml(clipFacts(v))}</div>`;
  const [start, end] = v.range ?? [0, v.duration];
  const found = new Set(allRegions(r).map((x) => x.region.image));
  const ticks = v.frames.map((i) => {
    const t = r.images[i - 1]?.time ?? 0;
    const left = end > start ? Math.min(100, Math.max(0, ((t - start) / (end - start)) * 100)) : 0;
    return `<span class="tick${found.has(i) ? ' found' : ''}" data-image="${i}" style="left:${left.toFixed(2)}%" title="${escapeHtml(formatTime(t))}${found.has(i) ? ' · regions' : ''}"></span>`;
  });
  const foundTimes = v.frames.filter((i) => found.has(i)).map((i) => formatTime(r.images[i - 1]?.time ?? 0));
  return `<div class="clip" data-video="${v.index}"><div class="clip-facts">${escapeHtml(clipFacts(v))}</div><div class="timeline" role="img" aria-label="${escapeHtml(`${v.frames.length} frames from ${formatTime(start)} to ${formatTime(end)}${foundTimes.length ? `; regions at ${foundTimes.join(', ')}` : ''}`)}">${ticks.join('')}</div>${foundTimes.length ? `<div class="note">Regions found in the frames at ${escapeHtml(foundTimes.join(', '))}.</div>` : ''}</div>`;
}

function renderImage(img: ResultImage, regions: (Region & { color: string })[], askedRegions: Region[] = []): string {
  const caption = frameCaption(img) ?? `Image ${img.index}: ${img.source}${img.width ? ` (${img.width}×${img.height}${img.format ? ', ' + img.format.toUpperCase() : ''})` : ''}`;
  if (img.error || !img.display) {
    return `<figure class="shot missing" data-index="${img.index}"><div class="error">${escapeHtml(caption)}: ${escapeHtml(img.error ?? 'no image data')}</div></figure>`;
  }
  const d = img.display;
  const W = img.width || d.width;
  const H = img.height || d.height;
  const pct = (v: number, of: number) => `${Math.round((v / of) * 100000) / 1000}%`;
  const shapes: string[] = [];
  const chips: string[] = [];
  const r = Math.max(W, H) / 120;
  // Regions are drawn inside the image only: a box reaching outside would cover the next cell of the page.
  regions.forEach((region, i) => {
    const g = regionInImage(region, W, H);
    const shape = g && regionShape(g);
    if (!g || !shape) return;
    const c = region.color;
    const paint = shape.kind === 'point' ? `fill="${c}" stroke="#fff" stroke-width="1.5"` : `fill="none" stroke="${c}" stroke-width="2.5"`;
    shapes.push(shapeSvg(shape, `class="region" data-region="${i}" data-label="${escapeHtml(g.label)}" data-kind="${g.kind}" ${paint} vector-effect="non-scaling-stroke"`, r));
    if (g.label) {
      const [lx, ly] = labelAnchor(g);
      const inside = ly < H * 0.06;
      chips.push(`<span class="chip${inside ? ' inside' : ''}" data-region="${i}" style="left:${pct(lx, W)};top:${pct(ly, H)};background:${c}" title="${escapeHtml(g.label)}">${escapeHtml(g.label)}</span>`);
    }
  });
  for (const asked of askedRegions) {
    const g = regionInImage(asked, W, H);
    const shape = g && regionShape(g);
    if (!g || !shape) continue;
    const [x, y] = labelAnchor(g);
    shapes.unshift(
      shapeSvg(shape, 'class="asked" fill="none" stroke="#000" stroke-width="3.5" vector-effect="non-scaling-stroke" opacity="0.6"', r) +
        shapeSvg(shape, 'class="asked" data-asked="true" fill="none" stroke="#fff" stroke-width="2" stroke-dasharray="6 4" vector-effect="non-scaling-stroke"', r),
    );
    chips.unshift(`<span class="chip asked${y < H * 0.06 ? ' inside' : ''}" style="left:${pct(x, W)};top:${pct(y, H)};background:#444">@region</span>`);
  }
  const overlay = shapes.length
    ? `<svg class="overlay" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" aria-hidden="true">${shapes.join('')}</svg>${chips.join('')}`
    : '';
  const notes = (img.notes ?? []).map((n) => `<div class="note">${escapeHtml(n)}</div>`).join('');
  return `<figure class="shot" data-index="${img.index}" data-natural-width="${W}" data-natural-height="${H}" style="width:${d.width}px"><div class="frame"><img src="data:${d.mime};base64,${d.data}" width="${d.width}" height="${d.height}" alt="${escapeHtml(caption)}">${overlay}</div><figcaption>${escapeHtml(caption)}${askedRegions.length ? ` · asked about ${askedRegions.length} region${askedRegions.length === 1 ? '' : 's'} (dashed)` : ''}${regions.length ? ` · ${regions.length} region${regions.length === 1 ? '' : 's'}` : ''}</figcaption>${notes}</figure>`;
}

