// One region as a COCO annotation's geometry, for the COCO export (batches): boxes as [x, y, width, height]; a
// point as a 1×1 box at it plus the point in `keypoints` ([x, y, 2]: labelled and visible); quads by their bounds.
import { regionBounds } from '../../common/regions';
import type { Region } from '../../common/result';

export interface CocoGeometry {
  bbox: [number, number, number, number];
  area: number;
  keypoints?: [number, number, number];
  num_keypoints?: number;
}

export function cocoAnnotation(r: Region): CocoGeometry {
  if (r.kind === 'point') return { bbox: [r.coords[0]!, r.coords[1]!, 1, 1], area: 1, keypoints: [r.coords[0]!, r.coords[1]!, 2], num_keypoints: 1 };
  const [x1, y1, x2, y2] = regionBounds(r);
  return { bbox: [x1, y1, x2 - x1, y2 - y1], area: (x2 - x1) * (y2 - y1) };
}
