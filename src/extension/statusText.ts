// What the status bar says about the running model: the provider that actually runs, and why a GPU was skipped.
import type { LoadedModel } from '../engine/types';

export const PROVIDER_NAMES: Record<string, string> = { webgpu: 'WebGPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', cpu: 'CPU' };

export function statusText(modelId: string, info: Pick<LoadedModel, 'provider' | 'fallbacks'>): string {
  const provider = PROVIDER_NAMES[info.provider] ?? info.provider;
  const last = info.fallbacks.at(-1);
  if (!last) return `Loupe: ${modelId} · ${provider}`;
  // onnxruntime prefixes source paths and assertions; the last sentence is the reason.
  const reason = last.error.split(/\.\s+/).at(-1)!.slice(0, 80);
  return `Loupe: ${modelId} · ${provider} (${PROVIDER_NAMES[last.device] ?? last.device} unavailable: ${reason})`;
}
