// Markdown plus a sibling folder of PNGs with the regions burned in: `tour.md` and `tour_files/cell-3-image-1.png`.
// Answers are written as escaped Markdown text, never as markup, followed by the list of regions.
import { coordsText, regionName } from '../../common/regions';
import { allRegions, type LoupeResult } from '../../common/result';
import { burnRegions } from '../../images/burn';
import { loadSharp } from '../../images/sharp';
import type { StoredNotebook } from '../notebook/format';
import { clipFacts } from '../../common/video';
import { FIXTURE_NOTE, cellViews, escapeMarkdown, frameCaption, imageFileName, regionPlace, isFixtureResult, markdownText, otherOutput, resultSummary, runHeading, type ExportFile, type ExportOptions } from './common';

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
  const blocks: string[] = [];
  const fixture = isFixtureResult(r);
  if (r.kind === 'prompt') blocks.push(`*${escapeMarkdown(resultSummary(r))}*${fixture ? ` **(fixture model)** <!-- ${FIXTURE_NOTE} -->` : ''}`);
  const all = allRegions(r).map((x) => x.region);
  for (const v of r.videos ?? []) blocks.push(`*${escapeMarkdown(`Video ${v.index}: ${clipFacts(v)}`)}*`);
  const images: string[] = [];
  for (const img of r.images) {
    const caption = frameCaption(img) ?? `Image ${img.index}: ${img.source}${img.width ? ` (${img.width}×${img.height})` : ''}`;
    if (img.error || !img.display) {
      images.push(`*${escapeMarkdown(caption)}: ${escapeMarkdown(img.error ?? 'no image data')}*`);
      continue;
    }
    const regions = all.filter((g) => g.image === img.index);
    let png = Buffer.from(img.display.data, 'base64');
    if (img.display.mime !== 'image/png' && regions.length === 0) png = await (await loadSharp())(png).png().toBuffer();
    const burned = await burnRegions(png, regions, img.width || img.display.width);
    const name = imageFileName(cellIndex, img.index, resultIndex);
    files.push({ path: `${folder}/${name}`, data: burned });
    images.push(`![${escapeMarkdown(caption)}](${encodeURI(`${folder}/${name}`)})`);
  }
  if (images.length) blocks.push(images.join('\n'));
  for (const run of r.runs) {
    if (!run.answer) continue;
    const head = runHeading(r, run);
    blocks.push(`${head ? `**${escapeMarkdown(head)}:** ` : ''}${markdownText(run.answer)}`);
  }
  if (all.length) blocks.push(all.map((g) => `- ${escapeMarkdown(regionName(g))} \`${coordsText(g)}\`${regionPlace(r, g.image) ? ` (${regionPlace(r, g.image).trim()})` : ''}`).join('\n'));
  for (const n of r.notes ?? []) blocks.push(`*${escapeMarkdown(n)}*`);
  for (const w of [...r.warnings, ...r.runs.flatMap((x) => x.warnings)]) blocks.push(`*Warning: ${escapeMarkdown(w)}*`);
  if (r.error && r.status === 'error') blocks.push(`**Error:** ${markdownText(r.error)}`);
  return blocks;
}

/** A fenced code block whose fence is longer than any backtick run inside. */
export function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${text}\n${f}`;
}
