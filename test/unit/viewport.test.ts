// Zoom/pan math and answer segmentation, pure (no browser).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { clampView, dragToBox, IDENTITY, MAX_ZOOM, panBy, toImage, toViewport, transformOf, zoomAt } from '../../webview/viewport';
import { segments } from '../../webview/answer';
import { gridColumns } from '../../webview/compare';

test('zooming keeps the point under the pointer fixed, and the image always covers the viewport', () => {
  fc.assert(
    fc.property(fc.double({ min: 0.2, max: 5, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (f, u, v) => {
      const start = zoomAt(IDENTITY, 3, 0.3, 0.7);
      const next = zoomAt(start, f, u, v);
      assert.ok(next.z >= 1 && next.z <= MAX_ZOOM);
      assert.ok(next.x <= 1e-9 && next.x >= 1 - next.z - 1e-9 && next.y <= 1e-9 && next.y >= 1 - next.z - 1e-9);
      // Unless a clamp kicked in, the image point under (u, v) is the same before and after.
      const unclamped = next.z === start.z * f && next.x < 0 && next.x > 1 - next.z && next.y < 0 && next.y > 1 - next.z;
      if (unclamped) {
        const [a, b] = toImage(start, u, v);
        const [c, d] = toImage(next, u, v);
        assert.ok(Math.abs(a - c) < 1e-9 && Math.abs(b - d) < 1e-9);
      }
    }),
  );
});

test('toImage and toViewport are inverses; zoom 1 cannot pan; transforms are CSS', () => {
  const v = zoomAt(IDENTITY, 4, 0.25, 0.5);
  const [fx, fy] = toImage(v, 0.6, 0.2);
  assert.deepEqual(toViewport(v, fx, fy).map((x) => +x.toFixed(12)), [0.6, 0.2]);
  assert.deepEqual(panBy(IDENTITY, 0.3, -0.2), IDENTITY);
  assert.deepEqual(clampView({ z: 100, x: 5, y: -500 }), { z: MAX_ZOOM, x: 0, y: 1 - MAX_ZOOM });
  assert.equal(transformOf({ z: 2, x: -0.5, y: -0.25 }), 'translate(-50%, -25%) scale(2)');
});

test('a drag becomes an integer box in original pixels, grown outwards and clamped to the image', () => {
  assert.deepEqual(dragToBox(IDENTITY, [0.1, 0.2], [0.3, 0.4], 3000, 2000), [300, 400, 900, 800]);
  assert.deepEqual(dragToBox(IDENTITY, [0.3001, 0.4], [0.1, 0.2], 3000, 2000), [300, 400, 901, 800]);
  assert.deepEqual(dragToBox(IDENTITY, [-0.5, 0.9], [0.2, 1.7], 300, 200), [0, 180, 60, 200]);
  // Zoomed ×2 on the bottom-right quarter: the whole viewport is the quarter.
  assert.deepEqual(dragToBox({ z: 2, x: -1, y: -1 }, [0, 0], [1, 1], 400, 300), [200, 150, 400, 300]);
  assert.equal(dragToBox(IDENTITY, [1.2, 0.1], [1.5, 0.2], 300, 200), undefined);
});

test('answer segments split at every span boundary, overlapping spans included, with the regions\' own ids', () => {
  const refs = [
    { id: 4, region: { image: 1, label: 'a', kind: 'box' as const, coords: [0, 0, 1, 1], span: [2, 8] as [number, number] } },
    { id: 5, region: { image: 1, label: 'b', kind: 'box' as const, coords: [0, 0, 1, 1], span: [5, 10] as [number, number] } },
    { id: 6, region: { image: 1, label: 'c', kind: 'point' as const, coords: [0, 0] } },
  ];
  assert.deepEqual(segments(refs, 12).map((s) => [s.start, s.end, s.regions]), [[0, 2, []], [2, 5, [4]], [5, 8, [4, 5]], [8, 10, [5]], [10, 12, []]]);
  assert.deepEqual(segments(refs, 9).map((s) => [s.start, s.end, s.regions]), [[0, 2, []], [2, 5, [4]], [5, 8, [4, 5]], [8, 9, [5]]]);
  assert.deepEqual([1, 2, 3, 4, 5, 9, 10].map(gridColumns), [1, 2, 2, 2, 3, 3, 4]);
});
