// Zoom and pan math, pure. Positions are fractions of the viewport (0..1 across, 0..1 down), so one
// state can drive several images of different sizes (synchronized comparison) without measuring any of them.

export interface View {
  /** Zoom factor; 1 shows the whole image fitted into its viewport. */
  z: number;
  /** Translation of the image's top-left corner, as a fraction of the viewport's width and height. */
  x: number;
  y: number;
}

export const MIN_ZOOM = 1;
export const MAX_ZOOM = 32;
export const ZOOM_STEP = 1.25;
export const IDENTITY: View = { z: 1, x: 0, y: 0 };

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Keeps the image covering the viewport: no empty margins when zoomed in, centred at zoom 1. */
export function clampView(v: View): View {
  const z = clamp(Number.isFinite(v.z) ? v.z : 1, MIN_ZOOM, MAX_ZOOM);
  return { z, x: clamp(v.x, 1 - z, 0), y: clamp(v.y, 1 - z, 0) };
}

/** Zooms by `factor` keeping the point (u, v) of the viewport where it is on screen. */
export function zoomAt(view: View, factor: number, u = 0.5, v = 0.5): View {
  const z = clamp(view.z * factor, MIN_ZOOM, MAX_ZOOM);
  const k = z / view.z;
  return clampView({ z, x: u - (u - view.x) * k, y: v - (v - view.y) * k });
}

export function panBy(view: View, du: number, dv: number): View {
  return clampView({ z: view.z, x: view.x + du, y: view.y + dv });
}

/** A viewport fraction to a fraction of the image (0..1), through the current zoom and pan. */
export function toImage(view: View, u: number, v: number): [number, number] {
  return [(u - view.x) / view.z, (v - view.y) / view.z];
}

/** The inverse of toImage. */
export function toViewport(view: View, fx: number, fy: number): [number, number] {
  return [view.x + fx * view.z, view.y + fy * view.z];
}

/**
 * A rectangle dragged on screen to a box in the original image's pixels: integers, clamped to the image,
 * grown outwards (floor/ceil) so the box always contains what the user covered. Undefined when empty.
 */
export function dragToBox(
  view: View,
  a: [number, number],
  b: [number, number],
  naturalWidth: number,
  naturalHeight: number,
): [number, number, number, number] | undefined {
  const [ax, ay] = toImage(view, a[0], a[1]);
  const [bx, by] = toImage(view, b[0], b[1]);
  const x1 = clamp(Math.floor(Math.min(ax, bx) * naturalWidth), 0, naturalWidth);
  const y1 = clamp(Math.floor(Math.min(ay, by) * naturalHeight), 0, naturalHeight);
  const x2 = clamp(Math.ceil(Math.max(ax, bx) * naturalWidth), 0, naturalWidth);
  const y2 = clamp(Math.ceil(Math.max(ay, by) * naturalHeight), 0, naturalHeight);
  return x2 > x1 && y2 > y1 ? [x1, y1, x2, y2] : undefined;
}

/** The CSS transform for the stage (translate percentages are of the stage, which is viewport-sized). */
export function transformOf(view: View): string {
  return `translate(${view.x * 100}%, ${view.y * 100}%) scale(${view.z})`;
}
