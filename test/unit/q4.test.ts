// The 4-bit weights shared by the q4 bench model and its GGUF twin, the GGUF writer, and the model host's int8
// MatMulNBits patch (src/engine/local/host/nbits.ts) on a small model onnxruntime really runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { GGML, writeGguf } from '../../scripts/gguf';
import { Graph, T } from '../../scripts/onnx-graph';
import { dequantizeQ4, halfBits, halfToFloat, packMatMulNBits, packQ4_0, quantizeQ4, uniform } from '../../scripts/q4';
import { withNbitsAccuracy } from '../../src/engine/local/host/nbits';

test('fp16 conversion rounds to nearest even and round-trips every half', () => {
  for (let h = 0; h < 0x7c00; h++) assert.equal(halfBits(halfToFloat(h)), h);
  assert.equal(halfBits(1 + 2 ** -11), halfBits(1)); // a tie rounds to even
  assert.equal(halfBits(1 + 3 * 2 ** -11), halfBits(1 + 2 ** -9));
  assert.equal(halfToFloat(halfBits(-0.0001)), -0.00010001659393310547);
});

test('4-bit blocks: scales are fp16 values, codes rebuild each block within a step, both packings hold the same codes', () => {
  const rows = 3;
  const cols = 64;
  const w = uniform(7, rows * cols, cols);
  const q = quantizeQ4(w, rows, cols);
  const back = dequantizeQ4(q);
  for (let b = 0; b < q.scales.length; b++) {
    assert.equal(halfToFloat(halfBits(q.scales[b]!)), q.scales[b]);
    // Half a step, or one where the code clamps at 15 (the largest magnitude maps to −8, so +8 does not exist).
    for (let j = 0; j < 32; j++) assert.ok(Math.abs(back[b * 32 + j]! - w[b * 32 + j]!) <= Math.abs(q.scales[b]!) * (q.codes[b * 32 + j] === 15 ? 1 : 0.5) + 1e-7);
  }
  const nbits = packMatMulNBits(q);
  const q40 = packQ4_0(q);
  assert.equal(nbits.length, (rows * cols) / 2);
  assert.equal(q40.length, (rows * cols / 32) * 18);
  for (let b = 0; b < q.scales.length; b++) {
    assert.equal(q40[b * 18]! | (q40[b * 18 + 1]! << 8), halfBits(q.scales[b]!));
    for (let j = 0; j < 32; j++) {
      const code = q.codes[b * 32 + j]!;
      assert.equal((nbits[b * 16 + (j >> 1)]! >> ((j & 1) * 4)) & 15, code, 'MatMulNBits: consecutive pairs, low nibble first');
      assert.equal((q40[b * 18 + 2 + (j & 15)]! >> (j < 16 ? 0 : 4)) & 15, code, 'Q4_0: element j and j + 16 share a byte');
    }
  }
});

test('the GGUF writer lays out header, metadata, tensor infos and 32-byte aligned data as docs/gguf.md says', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'loupe-gguf-')), 't.gguf');
  const q = quantizeQ4(uniform(3, 2 * 32, 32), 2, 32);
  const size = writeGguf(file, [['general.architecture', { str: 'qwen2' }], ['x.n', { u32: 7 }], ['x.list', { strs: ['a', 'bc'] }]], [
    { name: 'w', dims: [32, 2], type: GGML.Q4_0, data: () => packQ4_0(q) },
    { name: 'b', dims: [3], type: GGML.F32, data: () => new Uint8Array(new Float32Array([1, 2, 3]).buffer) },
  ]);
  const b = readFileSync(file);
  assert.equal(b.length, size);
  let p = 0;
  const u32 = () => { const v = b.readUInt32LE(p); p += 4; return v; };
  const u64 = () => { const v = Number(b.readBigUInt64LE(p)); p += 8; return v; };
  const str = () => { const n = u64(); const s = b.toString('utf8', p, p + n); p += n; return s; };
  assert.equal(b.toString('latin1', 0, 4), 'GGUF');
  p = 4;
  assert.equal(u32(), 3);
  assert.equal(u64(), 2);
  assert.equal(u64(), 3);
  assert.deepEqual([str(), u32(), str()], ['general.architecture', 8, 'qwen2']);
  assert.deepEqual([str(), u32(), u32()], ['x.n', 4, 7]);
  assert.deepEqual([str(), u32(), u32(), u64(), str(), str()], ['x.list', 9, 8, 2, 'a', 'bc']);
  const infos = [0, 1].map(() => ({ name: str(), dims: Array.from({ length: u32() }, u64), type: u32(), offset: u64() }));
  assert.deepEqual(infos.map((t) => [t.name, t.dims, t.type]), [['w', [32, 2], 2], ['b', [3], 0]]);
  const data = p + ((32 - (p % 32)) % 32);
  assert.deepEqual(infos.map((t) => t.offset % 32), [0, 0]);
  assert.deepEqual([...b.subarray(data + infos[0]!.offset, data + infos[0]!.offset + 36)], [...packQ4_0(q)]);
  assert.deepEqual([...new Float32Array(b.buffer.slice(b.byteOffset + data + infos[1]!.offset, b.byteOffset + data + infos[1]!.offset + 12))], [1, 2, 3]);
});

/** y = x · W with W as a symmetric MatMulNBits (block 32), as transformers.js's q4 exports write it. */
function nbitsModel(K: number, N: number, attrs: Record<string, number> = {}) {
  const g = new Graph();
  const x = g.input('x', T.FLOAT, [1, K]);
  const q = quantizeQ4(uniform(11, N * K, K), N, K);
  const y = g.op('MatMulNBits', [x, g.u8(packMatMulNBits(q), [N, K / 32, 16], 'W_Q4'), g.f32(q.scales, [q.scales.length], 'W_scales')], { K, N, bits: 4, block_size: 32, ...attrs }, 'y', 'com.microsoft');
  g.declareOutput(y, T.FLOAT, [1, N]);
  return { bytes: g.encode('t', { producer: 'test', doc: '' }), w: dequantizeQ4(q) };
}

const accuracyLevels = (bytes: Uint8Array) =>
  onnxProto.onnx.ModelProto.decode(bytes).graph!.node!.filter((n) => n.opType === 'MatMulNBits').map((n) => Number(n.attribute!.find((a) => a.name === 'accuracy_level')?.i ?? -1));

test('the model host gives MatMulNBits int8 accuracy without touching anything else, and onnxruntime runs the result', async () => {
  const K = 256;
  const N = 64;
  const { bytes, w } = nbitsModel(K, N);
  assert.deepEqual(accuracyLevels(bytes), [-1]);
  const patched = withNbitsAccuracy(bytes)!;
  assert.equal(patched.nodes, 1);
  assert.deepEqual(accuracyLevels(patched.bytes), [4]);
  const a = onnxProto.onnx.ModelProto.decode(bytes);
  const b = onnxProto.onnx.ModelProto.decode(patched.bytes);
  assert.deepEqual(b.graph!.initializer!.map((t) => Buffer.from(t.rawData!).toString('base64')), a.graph!.initializer!.map((t) => Buffer.from(t.rawData!).toString('base64')));
  assert.deepEqual(b.opsetImport, a.opsetImport);

  const x = uniform(5, K, 1);
  const ref = Array.from({ length: N }, (_, n) => x.reduce((s, v, k) => s + v * w[n * K + k]!, 0));
  for (const model of [bytes, patched.bytes]) {
    const s = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
    const y = (await s.run({ x: new ort.Tensor('float32', x, [1, K]) })).y!.data as Float32Array;
    // int8 activations: close to the exact product, not equal.
    const err = Math.max(...ref.map((r, i) => Math.abs(r - y[i]!))) / Math.max(...ref.map(Math.abs));
    assert.ok(err < 0.02, `relative error ${err}`);
    await s.release();
  }
});

test('an exporter\'s own accuracy_level stays, and a model without MatMulNBits is left alone', () => {
  assert.equal(withNbitsAccuracy(nbitsModel(64, 8, { accuracy_level: 1 }).bytes), undefined);
  const g = new Graph();
  g.output(g.add(g.input('x', T.FLOAT, [2]), g.f32([1, 2], [2])), 'y', T.FLOAT, [2]);
  assert.equal(withNbitsAccuracy(g.encode('t', { producer: 'test', doc: '' })), undefined);
});
