// Detector answers (the YOLO family): JSON `{"detections": [{"label", "score", "box": [x1, y1, x2, y2]}]}` with boxes
// already in original pixels, written by the model host after letterboxing, thresholds and NMS. The text counts
// the boxes per class; each class name in it is the span of that class's boxes.
import type { Region } from '../../common/result';
import { RegionCollector } from './collect';
import type { Size } from './frames';

export interface Detection {
  label: string;
  score: number;
  box: [number, number, number, number];
}

export function detectionsText(detections: Detection[]): string {
  return JSON.stringify({ detections: detections.map((d) => ({ label: d.label, score: Math.round(d.score * 1000) / 1000, box: d.box.map((v) => Math.round(v * 10) / 10) })) });
}

export function parseDetections(raw: string, size: Size, image = 1): { text: string; regions: Region[]; warnings: string[] } {
  let list: unknown;
  try {
    list = (JSON.parse(raw) as { detections?: unknown }).detections;
  } catch {
    return { text: raw.trim(), regions: [], warnings: ['the detector answer is not JSON: no boxes drawn'] };
  }
  if (!Array.isArray(list)) return { text: raw.trim(), regions: [], warnings: ['the detector answer has no "detections" list: no boxes drawn'] };
  const items = list.filter((d): d is Detection => typeof d === 'object' && d !== null && Array.isArray((d as Detection).box) && (d as Detection).box.length === 4);
  const c = new RegionCollector(image, size, { kind: 'resized', width: size.width, height: size.height });
  if (items.length === 0) {
    c.append('Nothing detected.');
    return { text: c.text, regions: [], warnings: [] };
  }
  const counts = new Map<string, number>();
  for (const d of items) counts.set(String(d.label), (counts.get(String(d.label)) ?? 0) + 1);
  const spans = new Map<string, [number, number]>();
  [...counts].forEach(([label, n], i) => {
    if (i) c.append(', ');
    c.append(`${n} × `);
    spans.set(label, c.append(label));
  });
  for (const d of items) {
    const label = String(d.label);
    const before = c.regions.length;
    c.add('box', label, d.box.map(Number), spans.get(label)!, JSON.stringify(d));
    const r = c.regions[before];
    if (r) Object.assign(r, { type: label, score: Number(d.score) });
  }
  return { text: c.text, regions: c.regions, warnings: c.warnings() };
}
