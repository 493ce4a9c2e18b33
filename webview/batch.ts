// A batch's view (`@images <glob>`): progress (done/total, images per second, time left, errors), the score
// against `@truth` per model, and a table of rows (thumbnail, image, answer, regions, time, status). The output
// carries the first rows; the pager asks the extension for the others, which it reads from the batch's sidecar.
import { BATCH_PAGE_ROWS, formatEta, formatPercent, hitRate, meanIou, pointInBoxRate, type BatchRowView, type BatchSummary } from '../src/common/batch';
import { modelLabel } from '../src/common/labels';
import type { LoupeResult } from '../src/common/result';
import { isBatchPageResult, type BatchPageMessage } from '../src/common/renderer-messages';
import { base64ToBlob, button, el } from './dom';
import type { ViewDeps } from './view';

let nextRequest = 1;

export class BatchView {
  readonly root: HTMLElement;
  private readonly doc: Document;
  private readonly status: HTMLElement;
  private readonly bar: HTMLProgressElement;
  private readonly message: HTMLElement;
  private readonly scores: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly pager: HTMLElement;
  private readonly pageLabel: HTMLElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private summary: BatchSummary | undefined;
  private page = 0;
  private pending: number | undefined;
  private urls: string[] = [];
  private rowsKey = '';
  private readonly unsubscribe: (() => void) | undefined;

  constructor(
    doc: Document,
    private readonly deps: ViewDeps,
  ) {
    this.doc = doc;
    this.root = el(doc, 'div', 'loupe-result loupe-batch');
    this.status = el(doc, 'div', 'loupe-batch-status');
    this.status.setAttribute('aria-live', 'polite');
    this.bar = el(doc, 'progress', 'loupe-batch-bar');
    this.message = el(doc, 'div', 'loupe-error');
    this.scores = el(doc, 'div', 'loupe-batch-scores');
    this.table = el(doc, 'table', 'loupe-batch-table');
    this.pager = el(doc, 'div', 'loupe-batch-pager');
    this.pageLabel = el(doc, 'span', 'loupe-batch-page');
    this.prev = button(doc, '‹ Previous', 'Previous rows', () => this.go(this.page - 1));
    this.next = button(doc, 'Next ›', 'Next rows', () => this.go(this.page + 1));
    this.pager.append(this.prev, this.pageLabel, this.next);
    this.root.append(this.status, this.bar, this.message, this.scores, this.table, this.pager);
    this.unsubscribe = deps.onMessage?.((m) => this.onMessage(m));
  }

  update(r: LoupeResult): void {
    const b = r.batch;
    if (!b) return;
    this.summary = b;
    this.root.dataset.status = r.status;
    this.root.dataset.state = b.state;
    this.root.setAttribute('aria-busy', String(b.state === 'running'));
    const total = b.images * b.models;
    const parts = [`${b.done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} done`];
    if (b.state === 'running' && b.imagesPerSecond) parts.push(`${b.imagesPerSecond} images/s`);
    if (b.state === 'running' && b.etaMs !== undefined && b.done < total) parts.push(`about ${formatEta(b.etaMs)} left`);
    parts.push(`${b.errors} error${b.errors === 1 ? '' : 's'}`);
    if (b.resumed) parts.push(`${b.resumed.toLocaleString('en-US')} from an earlier run`);
    const state = { running: 'running', done: 'finished', cancelled: 'cancelled', failed: 'stopped' }[b.state];
    this.status.textContent = `Batch ${state}: ${parts.join(' · ')} — ${b.globs.map((g) => `@images ${g}`).join(', ')}`;
    this.bar.max = Math.max(1, total);
    this.bar.value = b.done;
    this.bar.hidden = b.state === 'done';
    this.message.textContent = b.error ?? r.error ?? '';
    this.message.hidden = !this.message.textContent;
    this.renderScores(b);
    if (this.page === 0) this.renderRows(b.rows);
    this.renderPager();
  }

  dispose(): void {
    this.revoke();
    this.unsubscribe?.();
    this.root.remove();
  }

  private renderScores(b: BatchSummary): void {
    this.scores.hidden = !b.scores?.length;
    if (!b.scores?.length) return;
    const t = el(this.doc, 'table', 'loupe-batch-score');
    t.createCaption().textContent = `Against ${b.truth ?? 'the truth'}: a hit is a true box matched by a predicted one with IoU ≥ 0.5`;
    const head = t.createTHead().insertRow();
    for (const h of ['Model', 'Images scored', 'True boxes', 'Hits', 'Hit rate', 'Mean IoU', 'Point in box']) head.appendChild(el(this.doc, 'th', undefined, h));
    const body = t.createTBody();
    for (const s of b.scores) {
      const row = body.insertRow();
      for (const v of [modelLabel(s.model) || 'model', String(s.images), String(s.truth), String(s.hits), formatPercent(hitRate(s)), meanIou(s).toFixed(3), s.points ? formatPercent(pointInBoxRate(s)) : '—']) row.insertCell().textContent = v;
    }
    this.scores.replaceChildren(t);
  }

  private renderRows(rows: BatchRowView[]): void {
    const key = JSON.stringify(rows.map((r) => [r.index, r.modelIndex, r.status, r.at, !!r.thumb]));
    if (key === this.rowsKey) return;
    this.rowsKey = key;
    this.revoke();
    const several = (this.summary?.models ?? 1) > 1;
    const scored = rows.some((r) => r.score);
    const head = this.doc.createElement('thead').insertRow();
    for (const h of ['', 'Image', ...(several ? ['Model'] : []), 'Answer', 'Regions', ...(scored ? ['Hits'] : []), 'Time', 'Status']) head.appendChild(el(this.doc, 'th', undefined, h));
    const body = this.doc.createElement('tbody');
    for (const r of rows) {
      const tr = body.insertRow();
      tr.dataset.index = String(r.index);
      tr.dataset.status = r.status;
      const thumbCell = tr.insertCell();
      thumbCell.className = 'loupe-batch-thumb';
      if (r.thumb?.data) {
        const img = el(this.doc, 'img');
        const url = URL.createObjectURL(base64ToBlob(r.thumb.data, r.thumb.mime));
        this.urls.push(url);
        img.src = url;
        img.alt = '';
        img.width = r.thumb.width;
        img.height = r.thumb.height;
        thumbCell.appendChild(img);
      }
      tr.insertCell().textContent = `${r.index + 1}. ${r.image}`;
      if (several) tr.insertCell().textContent = modelLabel(r.model);
      const answer = tr.insertCell();
      answer.className = 'loupe-batch-answer';
      // Model text is shown as text, never HTML.
      answer.textContent = r.status === 'ok' ? r.answer : (r.error ?? 'failed');
      tr.insertCell().textContent = r.status === 'ok' ? String(r.regions.length) : '';
      if (scored) tr.insertCell().textContent = r.score ? `${r.score.hits}/${r.score.truth}` : '';
      tr.insertCell().textContent = r.stats.totalMs !== undefined ? `${(r.stats.totalMs / 1000).toFixed(1)} s` : '';
      tr.insertCell().textContent = r.status === 'ok' ? 'ok' : 'error';
    }
    this.table.replaceChildren(head.parentElement!, body);
    this.table.hidden = rows.length === 0;
  }

  private renderPager(): void {
    const b = this.summary;
    const images = b?.images ?? 0;
    const pages = Math.ceil(images / BATCH_PAGE_ROWS);
    // Without messaging (an export, another viewer) only the rows in the output can be shown.
    this.pager.hidden = pages <= 1;
    const from = this.page * BATCH_PAGE_ROWS + 1;
    const to = Math.min(images, (this.page + 1) * BATCH_PAGE_ROWS);
    this.pageLabel.textContent = this.deps.post ? `Images ${from}–${to} of ${images.toLocaleString('en-US')}` : `Images 1–${Math.min(images, BATCH_PAGE_ROWS)} of ${images.toLocaleString('en-US')}; the rest are in ${b?.sidecar ?? 'the sidecar'}`;
    this.prev.disabled = !this.deps.post || this.page === 0 || this.pending !== undefined;
    this.next.disabled = !this.deps.post || this.page >= pages - 1 || this.pending !== undefined;
  }

  private go(page: number): void {
    const b = this.summary;
    if (!b || !this.deps.post || page < 0) return;
    this.page = page;
    if (page === 0) {
      this.renderRows(b.rows);
      this.renderPager();
      return;
    }
    const requestId = nextRequest++;
    this.pending = requestId;
    const msg: BatchPageMessage = { type: 'batchPage', requestId, sidecar: b.sidecar, offset: page * BATCH_PAGE_ROWS, limit: BATCH_PAGE_ROWS, ...(this.deps.outputId ? { outputId: this.deps.outputId } : {}), ...(b.truth ? { truth: b.truth } : {}) };
    this.deps.post(msg);
    this.renderPager();
  }

  private onMessage(m: unknown): void {
    if (!isBatchPageResult(m) || m.requestId !== this.pending) return;
    this.pending = undefined;
    if (m.error) {
      this.message.textContent = `Could not read rows: ${m.error}`;
      this.message.hidden = false;
    } else this.renderRows(m.rows);
    this.renderPager();
  }

  private revoke(): void {
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
  }
}
