import { HostClient } from '../src/engine/client';
async function main() {
  const c = new HostClient({ script: '/work/main/dist/host.js', onLog: (l) => console.log('LOG', l) });
  await c.load({ key: 'q', folder: '/work/main/test/fixtures/models/tiny-qwen2vl', family: 'qwen2_vl', dialect: 'qwen2_vl', device: 'cpu', dtype: 'auto', info: { id: 'q' } });
  const r = await c.generate({ key: 'q', task: 'ask', prompt: 'What differs?', images: [{ path: '/work/main/examples/images/coffee.png', source: 'a' }], regions: [], params: { max_new_tokens: 40 }, maxImageTokens: 1024, maxImagePixels: 5e7 });
  console.log(JSON.stringify(r.raw), r.stats.promptTokens);
  c.dispose();
}
main().catch((e) => { console.error(e); process.exit(1); });
