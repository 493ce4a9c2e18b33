// Scores find-element answers against ScreenSpot-style truth: a hit is an answer whose point (or box centre) lies in
// the element's box; IoU compares answer boxes with it (a point answer has no area: IoU 0, but it can still hit).
// Pure, so `loupe eval` can use it when it lands; scripts/screen-score.ts runs it today.
import { boxIou, regionBounds } from '../../common/regions';
import type { Region } from '../../common/result';

export interface GroundingTruth {
  img_filename: string;
  /** left, top, width, height in screenshot pixels (ScreenSpot). */
  bbox: [number, number, number, number];
  instruction: string;
  data_type?: string;
  data_source?: string;
}

export interface GroundingScore {
  /** The answer's point (a point region, or a box's centre) is inside the element. */
  hit: boolean;
  /** IoU of the answer's box with the element's box; 0 for a point or no answer. */
  iou: number;
  answered: boolean;
}

export function scoreAnswer(truth: GroundingTruth, answer: Region | undefined): GroundingScore {
  if (!answer) return { hit: false, iou: 0, answered: false };
  const [tx, ty, tw, th] = truth.bbox;
  const [x1, y1, x2, y2] = regionBounds(answer);
  const [px, py] = answer.kind === 'point' ? [x1, y1] : [(x1 + x2) / 2, (y1 + y2) / 2];
  const hit = px >= tx && px <= tx + tw && py >= ty && py <= ty + th;
  if (answer.kind === 'point') return { hit, iou: 0, answered: true };
  return { hit, iou: boxIou([x1, y1, x2, y2], [tx, ty, tx + tw, ty + th]), answered: true };
}

export interface GroundingSummary {
  n: number;
  answered: number;
  /** Share of instructions whose answer point is inside the element. */
  pointInBox: number;
  /** Mean IoU over every instruction (no answer and point answers count 0). */
  meanIou: number;
  /** Per data_type (text, icon). */
  byType: Record<string, { n: number; pointInBox: number }>;
}

export function summarize(items: { truth: GroundingTruth; score: GroundingScore }[]): GroundingSummary {
  const n = items.length;
  const byType: GroundingSummary['byType'] = {};
  for (const it of items) {
    const t = (byType[it.truth.data_type ?? 'all'] ??= { n: 0, pointInBox: 0 });
    t.n++;
    t.pointInBox += it.score.hit ? 1 : 0;
  }
  for (const t of Object.values(byType)) t.pointInBox = t.n ? t.pointInBox / t.n : 0;
  return {
    n,
    answered: items.filter((i) => i.score.answered).length,
    pointInBox: n ? items.filter((i) => i.score.hit).length / n : 0,
    meanIou: n ? items.reduce((a, i) => a + i.score.iou, 0) / n : 0,
    byType,
  };
}
