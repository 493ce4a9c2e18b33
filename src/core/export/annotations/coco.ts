// COCO detection JSON (cocodataset.org, "Data format"): `annotations.coco.json`. `file_name` is the image's path
// relative to the notebook's folder, as the batch matched it. bbox is [x, y, width, height] in the upright image's
// pixels from its top-left corner, rounded to 2 decimals; quads add their polygon as `segmentation`, points are a
// 1×1 box centred on the point (kept inside the image) with the point as a visible keypoint.
import { round, rowShapes, isOkImage, type AnnotationGroup, type OutFile, type Shape } from './common';

const r2 = (v: number) => round(v, 2);

export function cocoFiles(g: AnnotationGroup, now: Date): OutFile[] {
  const ids = new Map(g.categories.map((name, i) => [name, i + 1]));
  const pointCategories = new Set<number>();
  const images: { id: number; file_name: string; width: number; height: number }[] = [];
  const annotations: Record<string, unknown>[] = [];
  for (const row of g.rows) {
    if (!isOkImage(row)) continue;
    const image = { id: images.length + 1, file_name: row.image, width: row.width, height: row.height };
    images.push(image);
    for (const s of rowShapes(row, g.prompt)) {
      const category_id = ids.get(s.label)!;
      if (s.kind === 'point') pointCategories.add(category_id);
      annotations.push({ id: annotations.length + 1, image_id: image.id, category_id, ...geometry(s, row.width, row.height), iscrowd: 0, ...(s.score !== undefined ? { score: s.score } : {}) });
    }
  }
  const coco = {
    info: { description: `Loupe batch, cell ${g.cell} of ${g.notebookName}${g.prompt ? `: ${g.prompt}` : ''}${g.model ? ` (${g.model.id})` : ''}`, version: '1.0', date_created: now.toISOString() },
    licenses: [],
    images,
    annotations,
    // Categories with point annotations name their one keypoint, as COCO keypoint readers expect.
    categories: g.categories.map((name, i) => ({ id: i + 1, name, supercategory: 'object', ...(pointCategories.has(i + 1) ? { keypoints: ['point'], skeleton: [] } : {}) })),
  };
  return [{ path: 'annotations.coco.json', data: JSON.stringify(coco, null, 2) + '\n' }];
}

function geometry(s: Shape, width: number, height: number): Record<string, unknown> {
  if (s.kind === 'point') {
    const [px, py] = s.coords as [number, number];
    const x = r2(Math.min(Math.max(0, px - 0.5), Math.max(0, width - 1)));
    const y = r2(Math.min(Math.max(0, py - 0.5), Math.max(0, height - 1)));
    return { bbox: [x, y, 1, 1], area: 1, keypoints: [r2(px), r2(py), 2], num_keypoints: 1 };
  }
  // Width from the rounded corners, so x + width is the rounded right edge.
  const [x, y] = [r2(s.box[0]), r2(s.box[1])];
  const [w, h] = [r2(r2(s.box[2]) - x), r2(r2(s.box[3]) - y)];
  return { bbox: [x, y, w, h], area: r2(w * h), ...(s.kind === 'quad' ? { segmentation: [s.coords.map(r2)] } : {}) };
}
