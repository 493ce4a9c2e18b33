// Markdown plus a sibling folder of PNGs with the regions burned in: `tour.md` and `tour_files/cell-3-image-1.png`.
// Answers are written as escaped Markdown text, never as markup, followed by the list of regions.
import { modelColorName } from '../../common/colors';
import { modelLabel } from '../../common/labels';
import { coordsText, regionName } from '../../common/regions';
import { formatPercent, hitRate, meanIou } from '../../common/batch';
import { allRegions, isSideBySide, regionColor, resultModels, type LoupeResult } from '../../common/result';
import { burnRegions } from '../../images/burn';
import { loadSharp } from '../../images/sharp';
import type { StoredNotebook } from '../notebook/format';
import { clipFacts } from '../../common/video';
import { FIXTURE_NOTE, cellViews, escapeMarkdown, frameCaption, imageFileName, regionPlace, isFixtureResult, markdownText, otherOutput, resultSummary, runHeading, runText, type ExportFile, type ExportOptions } from './common';

export async function exportMarkdown(nb: StoredNotebook, opts: ExportOptions): Promise<ExportFile[]> {
  const folder = `${opts.name}_files`;
  const files: ExportFile[] = [];
  const blocks: string[] = [];
  const views = cellViews(nb);
  const fixtures = views.flatMap((v) => v.outputs).filter((o) => o.type === 'result' && isFixtureResult(o.result)).length;
  if (fixtures) blocks.push(`> **Fixture models:** ${fixtures} answer${fixtures === 1 ? '' : 's'} below come${fixtures === 1 ? 's' : ''} from generated test models with scripted answers, not from real models; each is marked *(fixture model)*.`);

  for (const v of views) {
    if (v.cell.kind === 'markdown') {
      blocks.push(v.cell.source.trimEnd());
      continue;
    }
    blocks.push(`<!-- cell ${v.index} -->\n${fence(v.cell.source, 'loupe')}`);
    let resultIndex = 0;
    let otherIndex = 0;
    for (const o of v.outputs) {
      if (o.type === 'error') {
        blocks.push(`> **${escapeMarkdown(o.error.name)}:** ${markdownText(o.error.message).replace(/\n/g, '\n> ')}`);
        continue;
      }
      if (o.type === 'other') {
        const shown = otherOutput(o.items);
        if (shown.text !== undefined) blocks.push(fence(shown.text, 'text'));
        if (shown.image) {
          const name = `cell-${v.index}-output-${++otherIndex}.${shown.image.mime.split('/')[1]}`;
          files.push({ path: `${folder}/${name}`, data: shown.image.data });
          blocks.push(`![an output image](${encodeURI(`${folder}/${name}`)})`);
        }
        for (const n of shown.notes) blocks.push(`*Not in this export: ${escapeMarkdown(n)}.*`);
        continue;
      }
      blocks.push(...(await resultBlocks(o.result, v.index, resultIndex++, folder, files)));
    }
  }
  const md = blocks.join('\n\n') + '\n';
  return [{ path: `${opts.name}.md`, data: new TextEncoder().encode(md) }, ...files];
}

async function resultBlocks(r: LoupeResult, cellIndex: number, resultIndex: number, folder: string, files: ExportFile[]): Promise<string[]> {
  if (r.kind === 'batch' && r.batch) return batchBlocks(r);
  const blocks: string[] = [];
  const fixture = isFixtureResult(r);
  if (r.kind === 'prompt') blocks.push(`*${escapeMarkdown(resultSummary(r))}*${fixture ? ` **(fixture model)** <!-- ${FIXTURE_NOTE} -->` : ''}`);
  const refs = allRegions(r);
  const all = refs.map((x) => x.region);
  const colorOf = new Map(refs.map((x) => [x.region, regionColor(r, x.run, x.region)]));
  for (const v of r.videos ?? []) blocks.push(`*${escapeMarkdown(`Video ${v.index}: ${clipFacts(v)}`)}*`);
  const images: string[] = [];
  // Side by side, the burned-in regions take their model's colour: say which is which.
  if (isSideBySide(r) && all.length) blocks.push(`Regions: ${resultModels(r).map((m, i) => `${modelColorName(i)} = ${escapeMarkdown(modelLabel(m))}`).join('; ')}`);
  for (const img of r.images) {
    const caption = frameCaption(img) ?? `Image ${img.index}: ${img.source}${img.width ? ` (${img.width}×${img.height})` : ''}`;
    if (img.error || !img.display) {
      images.push(`*${escapeMarkdown(caption)}: ${escapeMarkdown(img.error ?? 'no image data')}*`);
      continue;
    }
    const regions = all.filter((g) => g.image === img.index);
    const colors = regions.map((g) => colorOf.get(g)!);
    let png = Buffer.from(img.display.data, 'base64');
    if (img.display.mime !== 'image/png' && regions.length === 0) png = await (await loadSharp())(png).png().toBuffer();
    const burned = await burnRegions(png, regions, img.width || img.display.width, colors);
    const name = imageFileName(cellIndex, img.index, resultIndex);
    files.push({ path: `${folder}/${name}`, data: burned });
    images.push(`![${escapeMarkdown(caption)}](${encodeURI(`${folder}/${name}`)})`);
  }
  if (images.length) blocks.push(images.join('\n'));
  const side = isSideBySide(r);
  for (const run of r.runs) {
    const t = runText(run);
    if (!t) continue;
    const head = runHeading(r, run);
    blocks.push(`${head ? `**${escapeMarkdown(head)}:** ` : ''}${t.error ? '**Error:** ' : ''}${markdownText(t.text)}`);
  }
  if (all.length) {
    blocks.push(
      refs
        .map(({ region: g, run }) => {
          const where = [regionPlace(r, g.image).trim(), side ? modelLabel(r.runs[run]?.model) : ''].filter(Boolean).join(', ');
          return `- ${escapeMarkdown(regionName(g))} \`${coordsText(g)}\`${where ? ` (${escapeMarkdown(where)})` : ''}`;
        })
        .join('\n'),
    );
  }
  for (const n of r.notes ?? []) blocks.push(`*${escapeMarkdown(n)}*`);
  for (const w of new Set([...r.warnings, ...r.runs.flatMap((x) => x.warnings)])) blocks.push(`*Warning: ${escapeMarkdown(w)}*`);
  if (r.error && r.status === 'error') blocks.push(`**Error:** ${markdownText(r.error)}`);
  return blocks;
}

/** A fenced code block whose fence is longer than any backtick run inside. */
export function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${text}\n${f}`;
}

/** A batch: its summary, scores, and the rows the output holds as a table (the rest are in its sidecar). */
function batchBlocks(r: LoupeResult): string[] {
  const b = r.batch!;
  const cell = (v: string) => escapeMarkdown(v).replace(/\r?\n/g, ' '); // escapeMarkdown already escapes '|'
  const blocks = [`*${escapeMarkdown(`${r.task} · batch of ${b.images} images${b.models > 1 ? ` × ${b.models} models` : ''} · ${b.ok} ok, ${b.errors} errors · ${b.state}`)}*`];
  if (b.scores?.length) {
    blocks.push(['| Model | Images | True boxes | Hits | Hit rate | Mean IoU |', '| --- | --- | --- | --- | --- | --- |', ...b.scores.map((s) => `| ${cell(modelLabel(s.model))} | ${s.images} | ${s.truth} | ${s.hits} | ${formatPercent(hitRate(s))} | ${meanIou(s).toFixed(3)} |`)].join('\n'));
  }
  blocks.push(['| Image | Answer | Regions | Status |', '| --- | --- | --- | --- |', ...b.rows.map((row) => `| ${cell(row.image)} | ${cell(row.status === 'ok' ? row.answer : (row.error ?? 'failed'))} | ${row.regions.length} | ${row.status} |`)].join('\n'));
  const rest = b.images * b.models - b.rows.length;
  if (rest > 0) blocks.push(`*${escapeMarkdown(`${rest} more rows are in ${b.sidecar}, next to the notebook.`)}*`);
  if (b.error) blocks.push(`**Error:** ${markdownText(b.error)}`);
  return blocks;
}
