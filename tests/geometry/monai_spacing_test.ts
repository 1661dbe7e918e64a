import { assert, assertAlmostEquals, assertEquals } from "../_assert.ts";
import { join } from "../../lib/core/_std.ts";
import { GOLDEN, ROOT } from "../_fixtures.ts";
import { readVolume } from "../../lib/io/read.ts";
import { loadCard } from "../../lib/cards/parse.ts";
import { toCanonical } from "../../lib/geometry/orient.ts";
import { spacingGrid, zoomAffine } from "../../lib/geometry/monai_spacing.ts";
import { importanceMap, scanStarts } from "../../lib/inference/monai_window.ts";
import { finish, predict, prepare } from "../../lib/run/pipeline.ts";
import { windowStarts } from "../../lib/inference/window.ts";
import { padding, padVolume } from "../../lib/inference/tiling.ts";
import { ortBackend } from "../../lib/engine/ort.ts";
import type { Shape3, Volume } from "../../lib/core/types.ts";
import { makeVolume } from "../../lib/io/volume.ts";

const DIR = join(GOLDEN, "monai");
const facts = JSON.parse(await Deno.readTextFile(join(DIR, "ct_small.json")));
const card = await loadCard(join(ROOT, "models", "monai-wholebody-ct.json"));
const ct = await readVolume(join(DIR, "ct_small.nii.gz"));

/** Runs a volume through the CT card with the golden network. */
async function segmentCt(v: Volume): Promise<{ labels: Volume; tiles: number }> {
  const model = await Deno.readFile(join(DIR, "segresnet_tiny_seed0.onnx"));
  const session = await ortBackend.create({ model, label: "golden" }, { compute: "cpu", threads: 2 });
  try {
    const prep = prepare(v, card, card.spacing);
    const fold = { classes: session.classes, predict: (t: Float32Array, p: Shape3) => session.run(t, p) };
    const out = await predict(prep, [fold], card, [96, 96, 96]);
    return { labels: (await finish(prep, out.logits, out.classes, card)).labels, tiles: out.tiles };
  } finally {
    await session.release();
  }
}

let golden: Promise<{ labels: Volume; tiles: number }> | undefined;
/** The golden case's run, shared by the tests that need it. */
const goldenRun = () => golden ??= segmentCt(ct);

Deno.test("monai: Spacing output shape of the golden case", () => {
  const can = toCanonical({ data: ct.data, dims: ct.dims, affine: ct.affine });
  const g = spacingGrid({ dims: can.dims as [number, number, number], affine: can.affine }, [1.5, 1.5, 1.5]);
  assertEquals(g.dims, facts.spacing_shape);
});

Deno.test("monai: Spacing shape rounds half to even; corner-aligned grids keep voxel 0", () => {
  // 181 voxels at 1 mm -> (180 / 1.5) + 1 = 121; 217 -> 145; 0.75 mm x 4 -> 3 / 1.5 + 1 = 3.
  const a = [[1, 0, 0, 5], [0, 1, 0, -3], [0, 0, 0.75, 2], [0, 0, 0, 1]];
  const g = spacingGrid({ dims: [181, 217, 5], affine: a }, [1.5, 1.5, 1.5]);
  assertEquals(g.dims, [121, 145, 3]);
  assertEquals([g.affine[0][3], g.affine[1][3], g.affine[2][3]], [5, -3, 2]);
  // A rotated orthogonal grid is corner-aligned too (the rotation is kept) ...
  const c = Math.cos(0.3), s = Math.sin(0.3);
  const r = spacingGrid({ dims: [11, 11, 11], affine: [[c, -s, 0, 1], [s, c, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]] }, [
    2,
    2,
    2,
  ]);
  assertEquals(r.dims, [6, 6, 6]);
  for (let k = 0; k < 3; k++) assertAlmostEquals(r.affine[k][3], [1, 2, 3][k], 1e-12);
  // ... but a slightly sheared one (float32 sforms) takes the centre-aligned branch.
  const o = [[c, -s - 1e-5, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const go = spacingGrid({ dims: [10, 10, 10], affine: o }, [2, 2, 2]);
  const z = zoomAffine(o, [2, 2, 2]);
  // Centres agree: A_in * n/2 = A_out * m/2.
  for (let r = 0; r < 3; r++) {
    const cin = o[r][0] * 5 + o[r][1] * 5 + o[r][2] * 5 + o[r][3];
    const cout = z[r][0] * go.dims[0] / 2 + z[r][1] * go.dims[1] / 2 + z[r][2] * go.dims[2] / 2 + go.affine[r][3];
    assertAlmostEquals(cin, cout, 1e-9);
  }
});

Deno.test("monai: scan-interval tile starts of the golden case", () => {
  const shape = facts.spacing_shape as number[];
  const roi = facts.roi as number[];
  const padded = shape.map((n, k) => Math.max(n, roi[k]));
  const starts = scanStarts(padded, roi, 0.25);
  const tiles: number[][] = [];
  for (const a of starts[0]) for (const b of starts[1]) for (const c of starts[2]) tiles.push([a, b, c]);
  assertEquals(tiles, facts.tile_starts);
  // The interval is int(96 * 0.75) = 72: 200 voxels -> 0, 72, 104.
  assertEquals(scanStarts([200], [96], 0.25), [[0, 72, 104]]);
  // Card-level starts are the same function on (z, y, x).
  const inf = card.inference!;
  assert(inf.mode === "sliding-window");
  assertEquals(windowStarts(inf, [96, 120, 96], [96, 96, 96]), [[0], [0, 24], [0]]);
});

Deno.test("monai: Gaussian importance map matches compute_importance_map", () => {
  const m = importanceMap([96, 96, 96], 0.125, 1e-3);
  const im = facts.importance_map;
  let lo = Infinity, hi = -Infinity;
  for (const v of m) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  assertAlmostEquals(hi, im.max, 1e-7);
  assertAlmostEquals(lo, im.min, 1e-9);
  const row = im.row_47_47 as number[];
  for (let x = 0; x < 96; x++) {
    const v = m[(47 * 96 + 47) * 96 + x];
    assertAlmostEquals(v, row[x], Math.max(1e-9, 2e-7 * row[x]), `x=${x}`);
  }
});

Deno.test("monai: replicate padding puts diff//2 before", () => {
  const data = Float32Array.from([1, 2, 3]);
  const pad = padding([1, 1, 3], [1, 1, 6]);
  assertEquals(pad, [[0, 0], [0, 0], [1, 2]]);
  assertEquals([...padVolume(data, [1, 1, 3], pad, "replicate").data], [1, 1, 2, 3, 3, 3]);
});

Deno.test("monai: scaled input statistics of the golden case", () => {
  const prep = prepare(ct, card, [1.5, 1.5, 1.5]);
  assertEquals([prep.resampledShape[2], prep.resampledShape[1], prep.resampledShape[0]], facts.spacing_shape);
  const si = facts.scaled_input;
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (const v of prep.image) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    sum += v;
  }
  assertAlmostEquals(lo, si.min, 1e-6);
  assertAlmostEquals(hi, si.max, 1e-6);
  assertAlmostEquals(sum / prep.image.length, si.mean, 1e-5);
  // MONAI's arrays are (i, j, k), k fastest: its first values run along k.
  const [, ny, nx] = prep.resampledShape;
  assertEquals(Array.from({ length: 8 }, (_, k) => prep.image[k * ny * nx]), si.first_values);
});

Deno.test("monai: the CT card reproduces MONAI's labels on the golden case", async () => {
  const { labels, tiles } = await goldenRun();
  assertEquals(tiles, facts.tile_starts.length);
  const ref = await readVolume(join(DIR, "ct_small_monai_labels.nii.gz"));
  assertEquals(labels.dims, ref.dims);
  let same = 0;
  for (let i = 0; i < ref.data.length; i++) if (labels.data[i] === ref.data[i]) same++;
  const agree = same / ref.data.length;
  console.log(`agreement with MONAI: ${(100 * agree).toFixed(3)}%`);
  assert(agree >= 0.985, `agreement ${(100 * agree).toFixed(2)}% < 98.5%`);
});

Deno.test("monai: an LPI-stored copy of the golden case gives the same labels, flipped", async () => {
  // Same world geometry stored with i and j reversed: Orientation RAS undoes it, so every stage after it is identical.
  const [nx, ny, nz] = ct.dims;
  const flipped = new Float32Array(ct.data.length);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        flipped[(nx - 1 - x) + nx * ((ny - 1 - y) + ny * z)] = ct.data[x + nx * (y + ny * z)];
      }
    }
  }
  const a = ct.affine;
  const lpi = [
    [-a[0][0], -a[0][1], a[0][2], a[0][3] + a[0][0] * (nx - 1) + a[0][1] * (ny - 1)],
    [-a[1][0], -a[1][1], a[1][2], a[1][3] + a[1][0] * (nx - 1) + a[1][1] * (ny - 1)],
    [-a[2][0], -a[2][1], a[2][2], a[2][3] + a[2][0] * (nx - 1) + a[2][1] * (ny - 1)],
    [0, 0, 0, 1],
  ];
  const ras = (await goldenRun()).labels;
  const other = (await segmentCt(makeVolume(flipped, ct.dims, lpi))).labels;
  assertEquals(other.affine, lpi);
  let same = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        if (other.data[(nx - 1 - x) + nx * ((ny - 1 - y) + ny * z)] === ras.data[x + nx * (y + ny * z)]) same++;
      }
    }
  }
  assertEquals(same, nx * ny * nz);
});
