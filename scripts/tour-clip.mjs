// Makes examples/videos/rocket-pan.mp4, the tour's clip, from examples/images/rocket.jpg (public domain, SpaceX):
// a 6-second camera pan across the launch pad, 360×240 at 12 fps, H.264 (which VS Code's webviews can play).
// Needs ffmpeg on PATH. The clip is committed; run this only to make it again:  node scripts/tour-clip.mjs
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'examples', 'videos', 'rocket-pan.mp4');
execFileSync('ffmpeg', [
  '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
  '-loop', '1', '-framerate', '12', '-i', join(root, 'examples', 'images', 'rocket.jpg'),
  // The crop window moves 46 px a second from the left edge to the right one; t is each frame's time.
  '-vf', "crop=360:240:x='min(280,t*46.7)':y=100,format=yuv420p",
  '-t', '6', '-c:v', 'libx264', '-preset', 'slow', '-crf', '30', '-g', '24', '-movflags', '+faststart', '-an',
  '-metadata', 'title=Loupe tour: a pan across rocket.jpg (public domain, SpaceX)',
  out,
], { stdio: 'inherit' });
console.log(`wrote ${out}`);
