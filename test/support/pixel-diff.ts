/**
 * How much two PNG images of the same size differ: the share of pixels whose colour (composited
 * on white) matches no pixel of the other image within one pixel of the same place, a match
 * being every channel within `tolerance` of 255. The one-pixel neighbourhood forgives what two
 * rasterisers legitimately do differently (anti-aliased edges, image resampling) and nothing
 * else: a moved, missing or recoloured shape still differs. Decoded by pngjs in a plain Node
 * child: inside jest's module sandbox, typed-array work across realms is slower by orders of
 * magnitude.
 */
import { runNodeScript } from './node-child';

const DIFF = `
const { PNG } = require('pngjs');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c)).on('end', () => {
  const { a, b, tolerance } = JSON.parse(Buffer.concat(chunks).toString());
  const A = PNG.sync.read(Buffer.from(a, 'base64'));
  const B = PNG.sync.read(Buffer.from(b, 'base64'));
  if (A.width !== B.width || A.height !== B.height) {
    process.stdout.write(JSON.stringify({ error: 'sizes differ: ' + A.width + 'x' + A.height + ' vs ' + B.width + 'x' + B.height }));
    return;
  }
  const onWhite = (d, i) => { const al = d[i + 3] / 255; return [0, 1, 2].map((k) => d[i + k] * al + 255 * (1 - al)); };
  const W = A.width, H = A.height;
  const flat = (P) => { const out = new Float32Array(W * H * 3); for (let i = 0, j = 0; i < P.data.length; i += 4, j += 3) { const c = onWhite(P.data, i); out[j] = c[0]; out[j + 1] = c[1]; out[j + 2] = c[2]; } return out; };
  const fa = flat(A), fb = flat(B);
  const near = (x, y, p, other) => {
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const X = x + dx, Y = y + dy;
      if (X < 0 || Y < 0 || X >= W || Y >= H) continue;
      const o = (Y * W + X) * 3;
      if (Math.abs(p[0] - other[o]) <= tolerance && Math.abs(p[1] - other[o + 1]) <= tolerance && Math.abs(p[2] - other[o + 2]) <= tolerance) return true;
    }
    return false;
  };
  let differing = 0;
  let ink = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const o = (y * W + x) * 3;
    const p = [fa[o], fa[o + 1], fa[o + 2]];
    const q = [fb[o], fb[o + 1], fb[o + 2]];
    if (!near(x, y, p, fb) || !near(x, y, q, fa)) differing++;
    if (Math.min(q[0], q[1], q[2]) < 250) ink++;
  }
  const pixels = A.width * A.height;
  process.stdout.write(JSON.stringify({ width: A.width, height: A.height, pixels, differing, ratio: differing / pixels, inkRatio: ink / pixels }));
});`;

export interface PixelDiff {
  width: number;
  height: number;
  pixels: number;
  differing: number;
  /** differing / pixels */
  ratio: number;
  /** Share of pixels of the second image that are not white (how much there is to compare). */
  inkRatio: number;
}

export async function pixelDiff(a: Buffer, b: Buffer, tolerance: number): Promise<PixelDiff> {
  const input = JSON.stringify({ a: a.toString('base64'), b: b.toString('base64'), tolerance });
  const r = JSON.parse(await runNodeScript(DIFF, input, 'pixel diff')) as PixelDiff & { error?: string };
  if (r.error) throw new Error(r.error);
  return r;
}
