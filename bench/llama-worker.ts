// B11's other engine: llama.cpp through node-llama-cpp (a dependency of the bench only: bench/package.json, installed
// on demand by bench/llama-setup.ts), on the GGUF twin of the q4 bench model (scripts/bench-gguf.ts). A child process,
// like Loupe's model host; it answers {type:'run'} with the same figures the host reports.
//
//   llama-worker.ts <model.gguf> <threads> [cpu|cuda|vulkan]
//
// Token ids come from the bench (the ids Loupe's qwen2_vl chat template gives), so both engines see the same prompt.
// Greedy (temperature 0), prefill in one batch of up to 512 tokens (llama.cpp's default ubatch), node-llama-cpp's
// defaults otherwise (flash attention "auto", mmap). Time to first token: evaluate() called → first token yielded.

interface LlamaModule {
  getLlama(o: object): Promise<Llama>;
  LlamaLogLevel: Record<string, unknown>;
}
interface Llama { gpu: string | false; buildType: string; cpuMathCores: number; loadModel(o: object): Promise<LlamaModel> }
interface LlamaModel { size: number; createContext(o: object): Promise<LlamaContext> }
interface LlamaContext { flashAttention: boolean; batchSize: number; getSequence(): Sequence }
interface Sequence { clearHistory(): Promise<void>; evaluate(tokens: number[], o: object): AsyncGenerator<number> }

interface RunMsg { type: 'run'; ids: number[]; newTokens: number }

const [file, threadsArg, gpuArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 1);

async function main(): Promise<void> {
  const t0 = performance.now();
  // A variable specifier: the extension's TypeScript projects and bundles never see this bench-only package.
  const name = 'node-llama-cpp';
  const mod = (await import(name)) as LlamaModule;
  const gpu = !gpuArg || gpuArg === 'cpu' ? false : gpuArg;
  const llama = await mod.getLlama({ gpu, build: 'never', skipDownload: true, maxThreads: threads, logLevel: mod.LlamaLogLevel.warn, progressLogs: false });
  const model = await llama.loadModel({ modelPath: file, ...(gpu ? { gpuLayers: 'max' } : {}) });
  const context = await model.createContext({ contextSize: 2048, batchSize: 512, threads, sequences: 1 });
  const seq = context.getSequence();
  process.send!({
    type: 'ready',
    loadMs: performance.now() - t0,
    rss: process.memoryUsage().rss,
    gpu: llama.gpu,
    buildType: llama.buildType,
    flashAttention: context.flashAttention,
    batchSize: context.batchSize,
    threads,
  });

  async function run(m: RunMsg) {
    await seq.clearHistory();
    const stamps: number[] = [];
    const tokens: number[] = [];
    const start = performance.now();
    for await (const t of seq.evaluate(m.ids, { temperature: 0 })) {
      stamps.push(performance.now());
      tokens.push(t);
      if (tokens.length >= m.newTokens) break;
    }
    const n = stamps.length;
    return {
      type: 'result',
      promptTokens: m.ids.length,
      generated: n,
      tokens,
      firstTokenMs: stamps[0]! - start,
      decodeMsPerToken: (stamps[n - 1]! - stamps[0]!) / (n - 1),
      rss: process.memoryUsage().rss,
    };
  }
  process.on('message', (m: RunMsg) => {
    if (m.type === 'run') run(m).then((r) => process.send!(r), (e) => process.send!({ type: 'error', message: String((e as Error)?.stack ?? e) }));
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((e) => {
  process.send?.({ type: 'error', message: String((e as Error)?.stack ?? e) });
  process.exit(1);
});
