import { zscoreInPlace } from "../../lib/numerics/normalize.ts";
import { assert, assertClose, assertEquals } from "../_assert.ts";

Deno.test("z-score: mean 0, std 1, float64 sums", () => {
  const a = new Float32Array(10000).map((_, i) => 1e4 + Math.sin(i) * 50);
  const s = zscoreInPlace(a);
  let m = 0, v = 0;
  for (const x of a) m += x;
  m /= a.length;
  for (const x of a) v += (x - m) ** 2;
  assert(Math.abs(m) < 1e-5, `mean ${m}`);
  assert(Math.abs(Math.sqrt(v / a.length) - 1) < 1e-5);
  assertEquals(s.nonFinite, 0);
  assert(Math.abs(s.mean - 1e4) < 1);
});

Deno.test("z-score: constant volume (std floored at 1e-8) and non-finite voxels as 0", () => {
  const c = new Float32Array(8).fill(3);
  zscoreInPlace(c);
  assertClose(c, new Float32Array(8), 0);
  const a = Float32Array.from([NaN, Infinity, 2, 2]);
  const s = zscoreInPlace(a);
  assertEquals(s.nonFinite, 2);
  assertClose(a, [-1, -1, 1, 1], 1e-6);
});
