// Coordinate frames the model families answer in, and the way back to original-image pixels.
// Everything canonical is in the original image's pixels, upright (after EXIF orientation).

export type Frame =
  /** Florence-2: 1000 bins per axis; a bin's centre is (N + 0.5) / 1000 × size. */
  | { kind: 'bins1000' }
  /** Qwen2-VL, Qwen3-VL, MM1.5/Ferret: integers 0–1000 (or 0–999) relative to the image: v / 1000 × size. */
  | { kind: 'rel1000' }
  /** Qwen2.5-VL: absolute pixels of the resized model input. */
  | { kind: 'resized'; width: number; height: number }
  /** Moondream style: 0–1 relative. */
  | { kind: 'unit' };

export interface Size {
  width: number;
  height: number;
}

/** Model-frame value → original pixel on one axis. */
export function toPixel(v: number, axis: 'x' | 'y', size: Size, frame: Frame): number {
  const s = axis === 'x' ? size.width : size.height;
  switch (frame.kind) {
    case 'bins1000':
      return ((v + 0.5) / 1000) * s;
    case 'rel1000':
      return (v / 1000) * s;
    case 'resized':
      return (v * s) / (axis === 'x' ? frame.width : frame.height);
    case 'unit':
      return v * s;
  }
}

/** Original pixel → model-frame value on one axis (what a referring prompt writes). */
export function fromPixel(p: number, axis: 'x' | 'y', size: Size, frame: Frame): number {
  const s = axis === 'x' ? size.width : size.height;
  switch (frame.kind) {
    case 'bins1000':
      return Math.min(999, Math.max(0, Math.floor((p / s) * 1000)));
    case 'rel1000':
      return Math.min(999, Math.max(0, Math.round((p / s) * 1000)));
    case 'resized': {
      const r = axis === 'x' ? frame.width : frame.height;
      return Math.min(r, Math.max(0, Math.round((p * r) / s)));
    }
    case 'unit':
      return Math.min(1, Math.max(0, p / s));
  }
}

/** Converts an interleaved [x, y, x, y, …] list. */
export function pointsToPixels(values: number[], size: Size, frame: Frame): number[] {
  return values.map((v, i) => toPixel(v, i % 2 === 0 ? 'x' : 'y', size, frame));
}

export function boxFromPixels(box: readonly number[], size: Size, frame: Frame): number[] {
  return box.map((v, i) => fromPixel(v, i % 2 === 0 ? 'x' : 'y', size, frame));
}

export type Repair = { coords: number[]; repaired: boolean } | { coords: undefined; reason: string };

/**
 * Orders and clamps a box to the image; drops boxes that are not numbers or have no area left.
 * Quads and points are clamped only.
 */
export function repair(kind: 'box' | 'quad' | 'point', coords: number[], size: Size): Repair {
  if (coords.some((c) => !Number.isFinite(c))) return { coords: undefined, reason: 'a coordinate is not a number' };
  const clampX = (x: number) => Math.min(size.width, Math.max(0, x));
  const clampY = (y: number) => Math.min(size.height, Math.max(0, y));
  let out = coords.map((c, i) => (i % 2 === 0 ? clampX(c) : clampY(c)));
  let repaired = out.some((c, i) => c !== coords[i]);
  if (kind === 'box') {
    const [a, b, c, d] = out as [number, number, number, number];
    if (a > c || b > d) repaired = true;
    out = [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)];
    if (out[2]! - out[0]! <= 0 || out[3]! - out[1]! <= 0) return { coords: undefined, reason: 'the box has no area inside the image' };
  }
  return { coords: out, repaired };
}
