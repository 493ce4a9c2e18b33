// A minimal ONNX graph builder on onnx-proto (protobufjs classes), shared by the fixture and bench-model generators.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type Dim = number | string;
export const T = { FLOAT: 1, UINT8: 2, INT64: 7, BOOL: 9 } as const;
export const OPSET = 17;

export class Graph {
  private nodes: any[] = [];
  private inits: any[] = [];
  private inputs: any[] = [];
  private outputs: any[] = [];
  private n = 0;
  /** Operator domains besides the default one (e.g. com.microsoft for MatMulNBits). */
  private domains = new Set<string>();
  /** fp32 parameters added as weights (counted for reports). */
  params = 0;

  private fresh(p: string): string {
    return `${p}_${this.n++}`;
  }

  private static valueInfo(name: string, elemType: number, dims: Dim[]) {
    return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(Graph.valueInfo(name, elemType, dims));
    return name;
  }

  output(from: string, name: string, elemType: number, dims: Dim[]): void {
    this.op('Identity', [from], {}, name);
    this.outputs.push(Graph.valueInfo(name, elemType, dims));
  }

  /** Declares an existing value (made with `op(…, out = name)`) as a graph output, as exporters do: no Identity copy. */
  declareOutput(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(Graph.valueInfo(name, elemType, dims));
  }

  /** A float32 initializer; `weight` counts it in `params`. */
  f32(data: ArrayLike<number>, dims: number[], name?: string, weight = false): string {
    const n = name ?? this.fresh('cf');
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    if (weight) this.params += arr.length;
    this.inits.push({ name: n, dataType: T.FLOAT, dims, rawData: Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength) });
    return n;
  }

  /** A uint8 initializer (packed 4-bit weights). */
  u8(data: Uint8Array, dims: number[], name?: string): string {
    const n = name ?? this.fresh('cu');
    this.inits.push({ name: n, dataType: T.UINT8, dims, rawData: Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
    return n;
  }

  i64(data: ArrayLike<number>, dims: number[] = [data.length]): string {
    const n = this.fresh('ci');
    this.inits.push({ name: n, dataType: T.INT64, dims, rawData: Buffer.from(BigInt64Array.from(Array.from(data, (v) => BigInt(v))).buffer) });
    return n;
  }

  /** Scalar int64 constant. */
  s64(v: number): string {
    return this.i64([v], []);
  }

  op(type: string, inputs: string[], attrs: Record<string, number | number[] | string> = {}, out?: string, domain?: string): string {
    const name = out ?? this.fresh(type.toLowerCase());
    const attribute = Object.entries(attrs).map(([k, v]) => {
      if (Array.isArray(v)) return { name: k, type: 7, ints: v };
      if (typeof v === 'string') return { name: k, type: 3, s: Buffer.from(v) };
      if (Number.isInteger(v) && !['alpha', 'beta', 'epsilon'].includes(k)) return { name: k, type: 2, i: v };
      return { name: k, type: 1, f: v };
    });
    if (domain) this.domains.add(domain);
    this.nodes.push({ opType: type, input: inputs, output: [name], name: this.fresh(`n_${type}`), attribute, ...(domain ? { domain } : {}) });
    return name;
  }

  // Convenience wrappers (opset 17 semantics).
  cast(x: string, to: number) { return this.op('Cast', [x], { to }); }
  unsq(x: string, axes: number[]) { return this.op('Unsqueeze', [x, this.i64(axes)]); }
  sq(x: string, axes: number[]) { return this.op('Squeeze', [x, this.i64(axes)]); }
  add(a: string, b: string) { return this.op('Add', [a, b]); }
  sub(a: string, b: string) { return this.op('Sub', [a, b]); }
  mul(a: string, b: string) { return this.op('Mul', [a, b]); }
  div(a: string, b: string) { return this.op('Div', [a, b]); }
  mm(a: string, b: string) { return this.op('MatMul', [a, b]); }
  reshape(x: string, shape: number[]) { return this.op('Reshape', [x, this.i64(shape)]); }
  tr(x: string, perm: number[]) { return this.op('Transpose', [x], { perm }); }
  /** x[..., c] for the last axis. */
  ch(x: string, c: number) { return this.op('Gather', [x, this.s64(c)], { axis: -1 }); }
  slice(x: string, start: number, end: number, axis: number) {
    return this.op('Slice', [x, this.i64([start]), this.i64([end]), this.i64([axis])]);
  }
  rsum(x: string, axes: number[], keepdims: number) {
    return this.op('ReduceSum', [x, this.i64(axes)], { keepdims });
  }
  rmax(x: string, axes: number[], keepdims: number) { return this.op('ReduceMax', [x], { axes, keepdims }); }
  rmin(x: string, axes: number[], keepdims: number) { return this.op('ReduceMin', [x], { axes, keepdims }); }
  boolF(x: string) { return this.cast(x, T.FLOAT); }

  encode(name: string, o: { producer: string; doc: string; meta?: Record<string, string> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: o.producer,
      producerVersion: '1',
      docString: o.doc,
      opsetImport: [{ domain: '', version: OPSET }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      metadataProps: Object.entries(o.meta ?? {}).map(([key, value]) => ({ key, value })),
      graph: { name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs } as any,
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
