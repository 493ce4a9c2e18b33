// Which quantization to load: from what the model folder actually ships, per module.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Dtype } from '../protocol';

export const DTYPE_SUFFIX: Record<Dtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  bnb4: '_bnb4',
  q4f16: '_q4f16',
};

const GPU_ORDER: Dtype[] = ['q4f16', 'fp16', 'q4', 'fp32'];
const CPU_ORDER: Dtype[] = ['q4', 'q8', 'int8', 'uint8', 'fp32'];

/** Module name → dtypes present in `<folder>/onnx/`. */
export function shippedDtypes(folder: string): Map<string, Set<Dtype>> {
  const out = new Map<string, Set<Dtype>>();
  let names: string[] = [];
  try {
    names = readdirSync(join(folder, 'onnx')).filter((n) => n.endsWith('.onnx'));
  } catch {
    return out;
  }
  // Longest suffixes first, so `_q4f16` is not read as `_q4`… plus "f16".
  const bySuffix = (Object.entries(DTYPE_SUFFIX) as [Dtype, string][]).sort((a, b) => b[1].length - a[1].length);
  for (const n of names) {
    const stem = n.slice(0, -'.onnx'.length);
    const [dtype, suffix] = bySuffix.find(([, s]) => s && stem.endsWith(s)) ?? ['fp32', ''];
    const mod = stem.slice(0, stem.length - suffix.length);
    if (!out.has(mod)) out.set(mod, new Set());
    out.get(mod)!.add(dtype as Dtype);
  }
  return out;
}

/**
 * `auto`: per module, the first dtype of the device's preference list that the folder ships
 * (GPU: q4f16 first; CPU: q4 or q8). An explicit dtype is used as given for every module.
 */
export function chooseDtype(folder: string, modules: readonly string[], requested: 'auto' | Dtype | Record<string, Dtype>, gpu: boolean): Dtype | Record<string, Dtype> {
  if (requested !== 'auto') return requested;
  const shipped = shippedDtypes(folder);
  const order = gpu ? GPU_ORDER : CPU_ORDER;
  const perModule: Record<string, Dtype> = {};
  for (const mod of modules) {
    const set = shipped.get(mod);
    if (set) perModule[mod] = order.find((d) => set.has(d)) ?? [...set][0]!;
  }
  const values = new Set(Object.values(perModule));
  if (values.size === 1) return [...values][0]!;
  return perModule;
}

export function onnxFilesFor(folder: string, modules: readonly string[], dtype: Dtype | Record<string, Dtype>): string[] {
  return modules.map((mod) => join(folder, 'onnx', `${mod}${DTYPE_SUFFIX[typeof dtype === 'string' ? dtype : (dtype[mod] ?? 'fp32')]}.onnx`));
}
