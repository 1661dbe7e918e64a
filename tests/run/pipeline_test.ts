import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { join } from "../../lib/core/_std.ts";
import { GOLDEN, ROOT, runCli, tempDir } from "../_fixtures.ts";
import { checkWorkingGrid, finish, predict, prepare } from "../../lib/run/pipeline.ts";
import { multiplePadding } from "../../lib/inference/window.ts";
import { reverseAxes } from "../../lib/inference/sliding_window.ts";
import { readChannels } from "../../lib/run/channels.ts";
import { validateCard } from "../../lib/cards/parse.ts";
import { shippedCard } from "../../lib/cards/shipped.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { readNifti, writeNifti } from "../../lib/io/nifti.ts";
import { normalizeInPlace, rescaleInPlace, windowInPlace, zscoreNonzeroInPlace } from "../../lib/numerics/normalize.ts";
import type { Shape3 } from "../../lib/core/types.ts";
import { buildResEncUNet } from "../../scripts/builders/model_builder.ts";

const BRATS = JSON.parse(Deno.readTextFileSync(join(ROOT, "models", "hnoseg-xs-brats.json")));

Deno.test("normalize: z-score over non-zero voxels keeps zeros; rescale; CT window", () => {
  const a = Float32Array.from([0, 1, 2, 3, 0]);
  const st = zscoreNonzeroInPlace(a);
  assertEquals(st.mean, 2);
  assertEquals(a[0], 0);
  assertEquals(a[4], 0);
  assert(Math.abs(a[1] + 1.2247448) < 1e-6 && Math.abs(a[3] - 1.2247448) < 1e-6);
  const b = Float32Array.from([-1000, 0, 1000]);
  rescaleInPlace(b, [-1, 1]);
  assertEquals([...b], [-1, 0, 1]);
  const c = Float32Array.from([-2000, -160, 40, 240, 3000]);
  windowInPlace(c, [-160, 240], [0, 1]);
  assertEquals([...c], [0, 0, 0.5, 1, 1]);
  // MONAI's chain: NormalizeIntensity(nonzero) then ScaleIntensity(-1, 1) = 2(HU - min)/(max - min) - 1,
  // with voxels of exactly 0 HU landing where the mean HU would.
  const hu = Float32Array.from([-1000, 0, 40, 700]);
  normalizeInPlace(hu, [{ type: "zscore-nonzero" }, { type: "rescale", range: [-1, 1] }]);
  const mean = (-1000 + 40 + 700) / 3;
  const expect = [-1000, mean, 40, 700].map((v) => 2 * (v + 1000) / 1700 - 1);
  hu.forEach((v, i) => assert(Math.abs(v - expect[i]) < 1e-6, `${v} vs ${expect[i]}`));
});

Deno.test("card pipeline: (z, y, x) <-> (x, y, z) tensors; whole-volume padding to a multiple", () => {
  const d = Float32Array.from({ length: 2 * 24 }, (_, i) => i);
  const r = reverseAxes(d, 2, [2, 3, 4]);
  // Element (z=1, y=2, x=3) of channel 1 sits at (x=3, y=2, z=1) of the (4, 3, 2) array.
  assertEquals(r[24 + (3 * 3 + 2) * 2 + 1], d[24 + (1 * 3 + 2) * 4 + 3]);
  assertEquals([...reverseAxes(r, 2, [4, 3, 2])], [...d]);
  assertEquals(multiplePadding([155, 240, 240], [2, 16, 1]), [[0, 1], [0, 0], [0, 0]]);
});

Deno.test("card pipeline: whole-volume inference runs the network once on the padded volume", async () => {
  const card = validateCard({
    ...structuredClone(BRATS),
    inference: { mode: "whole", multiple: [4, 4, 4], padding: "constant" },
  }, "t");
  const [nx, ny, nz] = [9, 6, 5];
  const n = nx * ny * nz;
  const data = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 4; c++) data[c * n + i] = i % 7 === 0 ? 0 : 10 + c + (i % 13);
  }
  const vol = makeVolume(data, [nx, ny, nz, 4]);
  const prep = prepare(vol, card, [1, 1, 1]);
  assertEquals(prep.resampledShape, [5, 6, 9]);
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < n; i++) if (data[c * n + i] === 0) assertEquals(prep.image[c * n + i], 0);
  }
  const calls: Shape3[] = [];
  // A "network" whose class k logit is channel k of the input: labels = argmax over channels.
  const fold = {
    classes: 4,
    predict: (t: Float32Array, p: Shape3) => {
      calls.push(p);
      return Promise.resolve(t.slice());
    },
  };
  const out = await predict(prep, [fold], card, card.patch);
  assertEquals(calls, [[12, 8, 8]]); // (x, y, z) tensor of the (8, 8, 12) padded volume
  const labels = (await finish(prep, out.logits, out.classes, card)).labels;
  assertEquals(labels.dims, [nx, ny, nz]);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < 4; c++) if (prep.image[c * n + i] > prep.image[best * n + i]) best = c;
    assertEquals(labels.data[i], best, `voxel ${i}`);
  }
});

/** Four channel files of a small "brain with a lesion", and the 4-D file holding the same. */
async function writeBrats(dir: string, stem = "case", shift = 0): Promise<string[]> {
  const [nx, ny, nz] = [20, 16, 12];
  const paths: string[] = [];
  const affine = [[-1, 0, 0, 10], [0, -1, 0, 8], [0, 0, 1, -6], [0, 0, 0, 1]];
  for (const [c, name] of ["t1c", "t1n", "t2f", "t2w"].entries()) {
    const d = new Float32Array(nx * ny * nz);
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const r = Math.hypot((x - 10) / 8, (y - 8) / 6, (z - 6) / 5);
          const l = Math.hypot(x - 12 - shift, y - 7, z - 6) < 3;
          if (r < 1) d[x + nx * (y + ny * z)] = 100 + 20 * c + (l ? 80 * (c - 1.5) : 0) + ((x * 7 + y * 3 + z) % 5);
        }
      }
    }
    const p = join(dir, `${stem}_${name}.nii.gz`);
    await writeNifti(p, makeVolume(d, [nx, ny, nz], affine));
    paths.push(p);
  }
  return paths;
}

async function standIn(dir: string): Promise<{ model: string; card: string }> {
  const model = join(dir, "brats4.onnx");
  await Deno.writeFile(
    model,
    buildResEncUNet({
      features: [4, 8],
      blocks: [1, 1],
      strides: [[1, 1, 1], [2, 2, 2]],
      classes: 4,
      inChannels: 4,
      decoderConvs: 1,
      fp16: false,
      seed: 3,
    }).bytes,
  );
  // The stand-in halves once: its card pads to even sizes (the real HNOSeg-XS takes any size).
  const card = join(dir, "brats-test.json");
  await Deno.writeTextFile(card, JSON.stringify({ ...BRATS, inference: { ...BRATS.inference, multiple: [2, 2, 2] } }));
  return { model, card };
}

Deno.test("cli: a 4-channel card segments 4 files and the 4-D file alike, on the input grid", async () => {
  await using dir = await tempDir();
  const paths = await writeBrats(dir.path);
  const { model, card } = await standIn(dir.path);
  const out1 = join(dir.path, "seg1.nii.gz");
  const r1 = await runCli([
    "--card",
    card,
    "-i",
    paths.join(","),
    "-o",
    out1,
    "-M",
    model,
    "-c",
    "cpu",
    "-q",
    "--vol",
    join(dir.path, "v.tsv"),
  ]);
  assertEquals(r1.err, []);
  assertEquals(r1.code, 0);
  const vols = await Promise.all(paths.map((p) => readNifti(p)));
  const n = vols[0].data.length;
  const four = new Float32Array(4 * n);
  vols.forEach((v, c) => four.set(v.data, c * n));
  const p4 = join(dir.path, "case4d.nii.gz");
  await writeNifti(p4, makeVolume(four, [...vols[0].dims, 4], vols[0].affine));
  const out2 = join(dir.path, "seg2.nii.gz");
  const r2 = await runCli(["--card", card, "-i", p4, "-o", out2, "-M", model, "-c", "cpu", "-q"]);
  assertEquals(r2.code, 0, r2.err.join("\n"));
  const a = await readNifti(out1), b = await readNifti(out2);
  assertEquals(a.dims, vols[0].dims);
  assertEquals(a.affine, vols[0].affine);
  assertEquals([...a.data], [...b.data]);
  assert(a.data.every((v) => v >= 0 && v < 4));
  const tsv = await Deno.readTextFile(join(dir.path, "seg1.labels.tsv"));
  assertEquals(tsv.trim().split("\n").length, 5);
  assert(tsv.includes("enhancing tumour"));
  const table = await Deno.readTextFile(join(dir.path, "v.tsv"));
  assert(table.split("\n")[0].includes("NCR_ml\tED_ml\tET_ml"));
});

Deno.test("cli: mismatched channel grids are refused, naming the odd one out, with no output", async () => {
  await using dir = await tempDir();
  const paths = await writeBrats(dir.path);
  const { model, card } = await standIn(dir.path);
  const odd = join(dir.path, "odd_t2f.nii.gz");
  await writeNifti(odd, makeVolume(new Float32Array(20 * 16 * 11), [20, 16, 11]));
  const out = join(dir.path, "seg.nii.gz");
  const r = await runCli([
    "--card",
    card,
    "-i",
    [paths[0], paths[1], odd, paths[3]].join(","),
    "-o",
    out,
    "-M",
    model,
    "-q",
  ]);
  assertEquals(r.code, 65);
  assertEquals(r.err.length, 1);
  assert(r.err[0].startsWith(`siamize: ${odd}: grid 20x16x11 differs from ${paths[0]}`), r.err[0]);
  const shifted = join(dir.path, "shift_t2f.nii.gz");
  await writeNifti(shifted, makeVolume(new Float32Array(20 * 16 * 12), [20, 16, 12]));
  await assertRejects(
    () => readChannels([paths[0], paths[1], shifted, paths[3]].join(","), validateCard(structuredClone(BRATS), "t")),
    /shift_t2f\.nii\.gz: affine differs/,
  );
  const three = await runCli(["--card", card, "-i", paths.slice(0, 3).join(","), "-o", out, "-M", model, "-q"]);
  // A channel count the card does not take is a usage error, found before any model or file is read.
  assertEquals(three.code, 64);
  assert(
    three.err[0].includes("3 files; the HNOSeg-XS BraTS card takes 4 channels (t1c, t1n, t2f, t2w)"),
    three.err[0],
  );
  assert([...Deno.readDirSync(dir.path)].every((e) => !e.name.startsWith("seg")));
});

Deno.test("cli: a folder batch groups each subject's channels by suffix", async () => {
  await using dir = await tempDir();
  const inDir = join(dir.path, "in"), outDir = join(dir.path, "out");
  await Deno.mkdir(inDir);
  await writeBrats(inDir, "subA");
  await writeBrats(inDir, "subB", 2);
  await Deno.remove(join(inDir, "subB_t2w.nii.gz"));
  const { model, card } = await standIn(dir.path);
  const r = await runCli(["--card", card, "-i", inDir, "-o", outDir, "-M", model, "-c", "cpu"]);
  assertEquals(r.code, 0, r.err.join("\n"));
  assertEquals([...Deno.readDirSync(outDir)].map((e) => e.name).sort(), ["subA_seg.labels.tsv", "subA_seg.nii.gz"]);
  assert(r.err.some((l) => l.includes("subB: no t2w channel")), r.err.join("\n"));
});

/** CLI arguments of a quiet CT-card run. */
const ctArgs = (input: string, output: string, model: string, ...extra: string[]) => [
  "--card",
  "monai-wholebody-ct",
  "-i",
  input,
  "-o",
  output,
  "-M",
  model,
  "-q",
  ...extra,
];

/** A synthetic CT in HU: air around a soft-tissue body with a bone ring and a fat layer. */
async function writeCtPhantom(path: string): Promise<void> {
  const [nx, ny, nz] = [56, 48, 30];
  const d = new Float32Array(nx * ny * nz).fill(-1000);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const r = Math.hypot((x - 28) / 24, (y - 24) / 18);
        const i = x + nx * (y + ny * z);
        if (r < 1) d[i] = r > 0.9 ? -100 : 40 + ((x + y + z) % 7);
        if (r > 0.55 && r < 0.65) d[i] = 700 + 10 * (z % 3);
        if (Math.hypot(x - 20, y - 24) < 4) d[i] = -800; // a bit of lung
      }
    }
  }
  // LPS-stored axes (flipped x and y), 2 x 2 x 2.5 mm: exercises the RAS reorientation.
  await writeNifti(path, makeVolume(d, [nx, ny, nz], [[-2, 0, 0, 56], [0, -2, 0, 48], [0, 0, 2.5, -30], [0, 0, 0, 1]]));
}

Deno.test("cli: --card monai-wholebody-ct segments a HU phantom with labels.tsv, --vol and --qc", async () => {
  await using dir = await tempDir();
  const ct = join(dir.path, "ct.nii.gz");
  await writeCtPhantom(ct);
  const out = join(dir.path, "seg.nii.gz");
  const vol = join(dir.path, "volumes.tsv"), qc = join(dir.path, "qc.png");
  const model = join(GOLDEN, "monai", "segresnet_tiny_seed0.onnx");
  const r = await runCli(ctArgs(ct, out, model, "-c", "cpu", "--vol", vol, "--qc", qc));
  assertEquals(r.err, []);
  assertEquals(r.code, 0);
  const seg = await readNifti(out);
  const src = await readNifti(ct);
  assertEquals(seg.dims, src.dims);
  assertEquals(seg.affine, src.affine);
  assert(seg.data.every((v) => v < 105));
  const labels = (await Deno.readTextFile(join(dir.path, "seg.labels.tsv"))).trim().split("\n");
  assertEquals(labels.length, 106);
  assert(labels[6].startsWith("5\tliver\t"), labels[6]);
  const table = (await Deno.readTextFile(vol)).trim().split("\n");
  const head = table[0].split("\t");
  assertEquals(head.filter((h) => h.endsWith("_ml")).length, 106); // tiv + 105 classes
  assert(head.includes("urinary_bladder_ml"));
  const cells = table[1].split("\t").slice(2).map(Number);
  const total = cells.reduce((a, c) => a + c, 0);
  const ml = 56 * 48 * 30 * 2 * 2 * 2.5 / 1000;
  assert(Math.abs(total - ml) < 0.05 * ml, `volumes sum to ${total} mL, the image is ${ml} mL`);
  // Probabilities (--tpm: the file at -o is the map) on the input grid, 105 channels summing to 1, their argmax the labels.
  const tpm = join(dir.path, "p.nii.gz");
  const rp = await runCli(ctArgs(ct, tpm, model, "-c", "cpu", "--tpm"));
  assertEquals(rp.code, 0, rp.err.join("\n"));
  const pv = await readNifti(tpm, { allow4D: true });
  assertEquals(pv.dims, [...src.dims, 105]);
  const n = src.data.length;
  for (const i of [0, 777, Math.floor(n / 2), n - 1]) {
    let sum = 0, best = 0;
    for (let c = 0; c < 105; c++) {
      sum += pv.data[c * n + i];
      if (pv.data[c * n + i] > pv.data[best * n + i]) best = c;
    }
    assert(Math.abs(sum - 1) < 1e-4, `voxel ${i} sums to ${sum}`);
    assertEquals(best, seg.data[i], `voxel ${i}`);
  }
  const png = await Deno.readFile(qc);
  assertEquals([...png.subarray(1, 4)], [80, 78, 71]);
  // Its named low-resolution spacing goes through -u.
  const r2 = await runCli(ctArgs(ct, join(dir.path, "lo.nii.gz"), model, "-u", "lowres", "-c", "cpu"));
  assertEquals(r2.code, 0, r2.err.join("\n"));
  const bad = await runCli(ctArgs(ct, join(dir.path, "x.nii.gz"), model, "-u", "ultra"));
  assertEquals(bad.code, 64);
  assert(bad.err[0].includes("named spacings highres, lowres"), bad.err[0]);
});

Deno.test("cli: siamize cards lists the shipped cards", async () => {
  const { main } = await import("../../cli.ts");
  const out: string[] = [];
  const code = await main(["cards"], { out: (l) => out.push(l), err: () => {}, isTty: false });
  assertEquals(code, 0);
  const text = out.join("\n");
  for (const id of ["siam-v0.3", "monai-wholebody-ct", "hnoseg-xs-brats"]) assert(text.includes(id), id);
  assert(shippedCard("siam-v0.3"));
});

Deno.test("accumulator: an (x, y, z) tile adds like its (z, y, x) transpose", async () => {
  const { LogitAccumulator } = await import("../../lib/inference/ensemble.ts");
  const patch: Shape3 = [3, 4, 5];
  const g = Float32Array.from({ length: 60 }, (_, i) => 1 + (i % 7) / 10);
  const zyx = Float32Array.from({ length: 2 * 60 }, (_, i) => Math.sin(i));
  const a = new LogitAccumulator(2, [4, 6, 7], g), b = new LogitAccumulator(2, [4, 6, 7], g);
  a.addTile(zyx, [1, 2, 1], patch);
  b.addTileXyz(reverseAxes(zyx, 2, patch), [1, 2, 1], patch);
  assertEquals([...b.sum], [...a.sum]);
  assertEquals([...b.weights], [...a.weights]);
});

Deno.test("cli: a model whose input channels differ from the card's is refused", async () => {
  await using dir = await tempDir();
  const { model } = await standIn(dir.path);
  const ct = join(dir.path, "ct.nii.gz");
  await writeCtPhantom(ct);
  const r = await runCli(ctArgs(ct, join(dir.path, "s.nii.gz"), model));
  assertEquals(r.code, 65);
  assert(r.err[0].endsWith("model takes 4 input channel(s), the MONAI whole-body CT card has 1"), r.err[0]);
});

Deno.test("working grid: 25 mm and 1e30 mm voxels are refused before resampling, naming the file, grid and memory", async () => {
  await using dir = await tempDir();
  const fast = ["-M", join(GOLDEN, "analytic.onnx"), "--card", join(ROOT, "models", "testing", "analytic.json")];
  const vol = (mm: number) => {
    const data = new Float32Array(40 ** 3).map((_, i) => 1 + (i % 7));
    return makeVolume(data, [40, 40, 40], [[mm, 0, 0, 0], [0, mm, 0, 0], [0, 0, mm, 0], [0, 0, 0, 1]]);
  };
  const coarse = join(dir.path, "coarse.nii"), huge = join(dir.path, "huge.nii");
  await writeNifti(coarse, vol(25));
  await writeNifti(huge, vol(1e30));
  const a = await runCli(["-i", coarse, "-o", join(dir.path, "a.nii.gz"), ...fast, "-q"]);
  assertEquals(a.code, 65);
  assertEquals(a.err.length, 1);
  assert(
    /coarse\.nii: resampling 25x25x25 mm voxels to 0\.75x0\.75x0\.75 mm gives a 1333x1333x1333 grid needing 167\.7 GiB; the limit is 8\.0 GiB/
      .test(a.err[0]),
    a.err[0],
  );
  const b = await runCli(["-i", huge, "-o", join(dir.path, "b.nii.gz"), ...fast, "-q"]);
  assertEquals(b.code, 65);
  assert(/huge\.nii: resampling 1e\+30x1e\+30x1e\+30 mm voxels .* gives no usable grid/.test(b.err[0]), b.err[0]);
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), ["coarse.nii", "huge.nii"]);
});

Deno.test("working grid: the image and the class maps together may not pass the machine's memory", () => {
  // 1000³ voxels: 3.7 GiB of image (under the ceiling), with a million class planes more than any machine has.
  const spacing: Shape3 = [1, 1, 1];
  checkWorkingGrid("ok.nii", [100, 100, 100], spacing, spacing, 1, 18);
  let msg = "";
  try {
    checkWorkingGrid("big.nii", [1000, 1000, 1000], spacing, spacing, 1, 1_000_000);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/^big\.nii: resampling 1x1x1 mm .* grid needing .*, more than this machine's .* of memory$/.test(msg), msg);
});
