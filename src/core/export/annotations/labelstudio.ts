// Label Studio tasks with predictions (labelstud.io, "Import pre-annotated data"): `predictions.labelstudio.json`.
// `data.image` is the image's path relative to the notebook's folder: serve that folder (local files storage) or
// rewrite the prefix to your storage's URL. Values are percent (0–100) of the upright image. Control tag names must
// be unique in a labeling config, so each region kind has its own; the config these predictions fit:
//   <View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"/>
//     <PolygonLabels name="polygon" toName="image"/><KeyPointLabels name="keypoint" toName="image"/></View>
// (each with a <Label value="…"/> per line of classes). Images that could not be read are left out.
import { isOkImage, rowShapes, type AnnotationGroup, type OutFile, type Shape } from './common';

export function labelStudioFiles(g: AnnotationGroup): OutFile[] {
  const tasks = g.rows.filter(isOkImage).map((row, t) => {
    const shapes = rowShapes(row, g.prompt);
    const scores = shapes.flatMap((s) => (s.score !== undefined ? [s.score] : []));
    const result = shapes.map((s, k) => ({
      id: `r${t + 1}-${k + 1}`,
      ...value(s, row.width, row.height),
      to_name: 'image',
      original_width: row.width,
      original_height: row.height,
      image_rotation: 0,
      ...(s.score !== undefined ? { score: s.score } : {}),
    }));
    const score = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : undefined;
    return { data: { image: row.image }, predictions: [{ model_version: row.model?.id ?? g.model?.id ?? 'loupe', ...(score !== undefined ? { score } : {}), result }] };
  });
  return [{ path: 'predictions.labelstudio.json', data: JSON.stringify(tasks, null, 2) + '\n' }];
}

function value(s: Shape, width: number, height: number) {
  const px = (v: number) => (v / width) * 100;
  const py = (v: number) => (v / height) * 100;
  if (s.kind === 'point') return { from_name: 'keypoint', type: 'keypointlabels', value: { x: px(s.coords[0]!), y: py(s.coords[1]!), width: 0.5, keypointlabels: [s.label] } };
  if (s.kind === 'quad') {
    const points = [0, 2, 4, 6].map((i) => [px(s.coords[i]!), py(s.coords[i + 1]!)]);
    return { from_name: 'polygon', type: 'polygonlabels', value: { points, closed: true, polygonlabels: [s.label] } };
  }
  const [x1, y1, x2, y2] = s.box;
  return { from_name: 'label', type: 'rectanglelabels', value: { x: px(x1), y: py(y1), width: px(x2 - x1), height: py(y2 - y1), rotation: 0, rectanglelabels: [s.label] } };
}
