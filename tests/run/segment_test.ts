import { join } from "../../lib/core/_std.ts";
import { invert, multiply } from "../../lib/geometry/affine.ts";
import { loadCard, validateCard } from "../../lib/cards/parse.ts";
import { SIAM_V03 } from "../../lib/cards/shipped.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { finish, predict, prepare } from "../../lib/run/pipeline.ts";
import { segment } from "../../lib/run/segment.ts";
import { assert, assertClose, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, sha256Of, tempDir } from "../_fixtures.ts";

const ANALYTIC = join(GOLDEN, "analytic.onnx");
const card = await loadCard(join(ROOT, "models", "testing", "analytic.json"));

Deno.test("end to end: analytic.onnx on the phantom agrees with the golden labels (>= 99.9%), on the input grid", async () => {
  const r = await segment(join(GOLDEN, "phantom.nii.gz"), {
    models: ANALYTIC,
    card,
    patch: [64, 64, 48],
    compute: "cpu",
  });
  const ref = await readNifti(join(GOLDEN, "phantom_labels_p64x64x48.nii.gz"));
  const src = await readNifti(join(GOLDEN, "phantom.nii.gz"));
  assertEquals(r.labels.dims, src.dims);
  assertClose(r.labels.affine.flat(), src.affine.flat(), 1e-9);
  assertEquals(r.geometry.resampled, [160, 120, 128]);
  assertEquals(r.tiles, 4 * 3 * 5);
  let agree = 0;
  for (let i = 0; i < ref.data.length; i++) if (ref.data[i] === r.labels.data[i]) agree++;
  const frac = agree / ref.data.length;
  assert(frac >= 0.999, `agreement ${frac}`);
  // Several classes present, not a degenerate output.
  assert(new Set(r.labels.data).size >= 5);
});

/** A 3-D volume with a bright blob in a zero background, non-RAS affine. */
function blob(): ReturnType<typeof makeVolume> {
  const dims = [20, 18, 16];
  const data = new Float32Array(20 * 18 * 16);
  for (let z = 0; z < 16; z++) {
    for (let y = 0; y < 18; y++) {
      for (let x = 0; x < 20; x++) {
        const d = Math.hypot(x - 10, y - 8, z - 7);
        if (d < 6) data[x + 20 * (y + 18 * z)] = 100 + 10 * Math.cos(d);
      }
    }
  }
  return makeVolume(data, dims, [[0, 0, -1.5, 30], [-1, 0, 0, 20], [0, 1.2, 0, -10], [0, 0, 0, 1]]);
}

/** SIAM's card with a 16^3 patch (any multiple). */
const small = validateCard({ ...SIAM_V03, patch: [16, 16, 16], patchMultiple: [1, 1, 1] }, "test");
const SPACING: [number, number, number] = [0.75, 0.75, 0.75];

/** A voxel-wise "network": class 1 where the (z-scored) input is above 0, else 0. */
const threshold = {
  classes: 2,
  predict: (tile: Float32Array) => {
    const out = new Float32Array(2 * tile.length);
    out.set(tile.map((v) => -v), 0);
    out.set(tile, tile.length);
    return Promise.resolve(out);
  },
};

Deno.test("stages compose: crop box, resampled shape, labels pasted back in the input's axis order", async () => {
  const v = blob();
  const prep = prepare(v, small, SPACING);
  // Canonical of this affine is (y, z, x) of the storage -> check the crop is tight around the blob.
  assert(prep.croppedShape.every((s, k) => s < prep.canonicalShape[k]));
  const { logits, classes } = await predict(prep, [threshold], small, small.patch);
  const { labels } = await finish(prep, logits, classes, small);
  assertEquals(labels.dims, v.dims);
  // Labels are 1 inside the blob core and 0 far outside it.
  assertEquals(labels.data[10 + 20 * (8 + 18 * 7)], 1);
  assertEquals(labels.data[0], 0);
  let inside = 0;
  for (const l of labels.data) inside += l;
  assert(inside > 500 && inside < 1000, `${inside} labelled voxels`);
});

Deno.test("--upsample: labels stay on the 0.75 mm canonical grid; its affine maps onto the input's world", async () => {
  const v = blob();
  const prep = prepare(v, small, SPACING);
  const { logits, classes } = await predict(prep, [threshold], small, small.patch);
  const { labels } = await finish(prep, logits, classes, small, { grid: "working", threads: 2 });
  const [rz, ry, rx] = prep.resampledShape;
  assertEquals(labels.dims, [rx, ry, rz]);
  const a = prep.resampledAffine;
  assertEquals(labels.affine, a);
  // RAS, voxel sizes close to 0.75 (exactly crop/resampled * spacing).
  for (let k = 0; k < 3; k++) {
    assert(a[k][k] > 0 && Math.abs(a[k][k] - 0.75) < 0.05, `axis ${k}: ${a[k][k]}`);
  }
  // The centre of the blob (input voxel 10,8,7) lands on a labelled voxel of the upsampled grid.
  const world = multiply(v.affine, [[10], [8], [7], [1]].map((r) => [r[0], 0, 0, 0]));
  const p = multiply(invert(a), world).map((r) => Math.round(r[0]));
  assertEquals(labels.data[p[0] + rx * (p[1] + ry * p[2])], 1);
});

Deno.test("without -P, a CPU run with little memory picks a smaller patch and says so", async () => {
  const { tinyModel } = await import("../_models.ts");
  const lines: string[] = [];
  const r = await segment(join(GOLDEN, "phantom.nii.gz"), {
    models: await tinyModel(false),
    compute: "cpu",
    availableMemory: () => 4 * 2 ** 30,
    log: (l) => lines.push(l),
  });
  assertEquals(r.patch, [64, 64, 64]);
  assert(lines.some((l) => /only 4\.0 GiB available: patch 64x64x64 instead of 256x256x192/.test(l)), lines.join("\n"));
});

Deno.test("peakScale scales the card's peak estimate in the automatic patch choice (the CLI's tuned allocator)", async () => {
  const { tinyModel } = await import("../_models.ts");
  const lines: string[] = [];
  // At 4 GiB the plain estimate picks 64x64x64 (the test above); at 1.8x it does not fit, and 64x64x32 does.
  const r = await segment(join(GOLDEN, "phantom.nii.gz"), {
    models: await tinyModel(false),
    compute: "cpu",
    availableMemory: () => 4 * 2 ** 30,
    peakScale: 1.8,
    log: (l) => lines.push(l),
  });
  assertEquals(r.patch, [64, 64, 32]);
  assert(
    lines.some((l) => l.includes("only 4.0 GiB available (peak estimate x1.8: tuned allocator): patch 64x64x32")),
    lines.join("\n"),
  );
});

Deno.test("prefetch: the next input is read and preprocessed ahead; same labels; errors surface in segment()", async () => {
  const { createSegmenter } = await import("../../lib/run/segment.ts");
  const s = createSegmenter({ models: ANALYTIC, card, patch: [64, 64, 48], compute: "cpu" });
  try {
    const phantom = join(GOLDEN, "phantom.nii.gz");
    s.prefetch(phantom);
    const a = await s.segment(phantom);
    const b = await s.segment(phantom);
    assertEquals(a.labels.data, b.labels.data);
    s.prefetch("/no/such/scan.nii.gz");
    let err = "";
    try {
      await s.segment("/no/such/scan.nii.gz");
    } catch (e) {
      err = (e as Error).message;
    }
    assert(err.startsWith("/no/such/scan.nii.gz: cannot read"), err);
  } finally {
    await s.close();
  }
});

/** A backend whose sessions answer class 3 everywhere and log create/run/release. */
function countingBackend(events: string[]) {
  let created = 0;
  return {
    create: () => {
      const id = created++;
      events.push(`create ${id}`);
      return Promise.resolve({
        inputName: "x",
        outputName: "logits",
        classes: 18,
        provider: "cpu",
        run: (tile: Float32Array) => {
          if (events.at(-1) !== `run ${id}`) events.push(`run ${id}`);
          // Class 3 everywhere (a fresh array per call, as ONNX Runtime's).
          return Promise.resolve(new Float32Array(18 * tile.length).fill(1, 3 * tile.length, 4 * tile.length));
        },
        release: () => {
          events.push(`release ${id}`);
          return Promise.resolve();
        },
      });
    },
  };
}

/** `n` copies of the tiny model; with `odd`, the last one is the analytic model (another file). */
async function modelCopies(dir: string, n: number, odd = false): Promise<string[]> {
  const { tinyModel } = await import("../_models.ts");
  const model = await tinyModel(false);
  return await Promise.all(Array.from({ length: n }, async (_, k) => {
    const p = join(dir, `f${k}.onnx`);
    await Deno.copyFile(odd && k === n - 1 ? ANALYTIC : model, p);
    return p;
  }));
}

Deno.test("folds run one after another into one accumulator: N folds = N sessions, N x tiles runs, one read", async () => {
  const { segment: seg } = await import("../../lib/run/segment.ts");
  const events: string[] = [];
  let runs = 0;
  const inner = countingBackend(events);
  const backend = {
    create: async () => {
      const s = await inner.create();
      return { ...s, run: (t: Float32Array) => (runs++, s.run(t)) };
    },
  };
  await using dir = await tempDir();
  const copies = await modelCopies(dir.path, 3, true);
  const r = await seg(join(GOLDEN, "phantom.nii.gz"), { models: copies, card, patch: [96, 96, 96], backend });
  assertEquals(r.tiles, 3 * 2 * 2);
  assertEquals(runs, 3 * r.tiles);
  assertEquals(r.models, copies);
  // Provenance: each file that ran, with the hash of its own bytes.
  const want = await Promise.all(
    copies.map(async (p, k) => ({ path: p, name: `f${k}.onnx`, sha256: await sha256Of(p) })),
  );
  assertEquals(r.modelFiles, want);
  assertEquals(want[0].sha256, want[1].sha256);
  assert(want[0].sha256 !== want[2].sha256);
  // A one-shot run releases each fold's session after its tiles: one network resident at a time.
  assertEquals(events, [
    "create 0",
    "run 0",
    "release 0",
    "create 1",
    "run 1",
    "release 1",
    "create 2",
    "run 2",
    "release 2",
  ]);
});

Deno.test("a Segmenter keeps its sessions between inputs; keepSessions: false releases each fold after its tiles", async () => {
  const { Segmenter } = await import("../../lib/run/segment.ts");
  await using dir = await tempDir();
  const copies = await modelCopies(dir.path, 2);
  const input = join(GOLDEN, "phantom.nii.gz");
  const base = { models: copies, card, patch: [160, 128, 128] as [number, number, number] };
  const kept: string[] = [];
  const batch = new Segmenter({ ...base, backend: countingBackend(kept) });
  assertEquals(batch.keepSessions, true);
  await batch.segment(input);
  await batch.segment(input);
  assertEquals(kept, ["create 0", "run 0", "create 1", "run 1", "run 0", "run 1"]);
  await batch.close();
  assertEquals(kept.slice(-2).sort(), ["release 0", "release 1"]);
  const released: string[] = [];
  const oneByOne = new Segmenter({ ...base, keepSessions: false, backend: countingBackend(released) });
  await oneByOne.segment(input);
  await oneByOne.segment(input);
  await oneByOne.close();
  assertEquals(released.filter((e) => e.startsWith("create")).length, 4);
  assertEquals(released.slice(0, 6), ["create 0", "run 0", "release 0", "create 1", "run 1", "release 1"]);
});

Deno.test("tta runs 8 network passes per tile; step and tta are in the result", async () => {
  const { segment: seg } = await import("../../lib/run/segment.ts");
  let runs = 0;
  const inner = countingBackend([]);
  const backend = {
    create: async () => {
      const s = await inner.create();
      return { ...s, run: (t: Float32Array) => (runs++, s.run(t)) };
    },
  };
  await using dir = await tempDir();
  const [model] = await modelCopies(dir.path, 1);
  const input = join(GOLDEN, "phantom.nii.gz");
  const base = { models: model, card, patch: [48, 48, 48] as [number, number, number], backend };
  const plain = await seg(input, base);
  assertEquals([runs, plain.step, plain.tta], [plain.tiles, 0.5, false]);
  runs = 0;
  const tta = await seg(input, { ...base, tta: true, step: 1 });
  assertEquals([tta.step, tta.tta], [1, true]);
  // nnU-Net's starts on the 160x120x128 working grid: 6x4x5 tiles at step 0.5, 4x3x3 at step 1.
  assertEquals([plain.tiles, tta.tiles], [6 * 4 * 5, 4 * 3 * 3]);
  assertEquals(runs, 8 * tta.tiles);
  // A mirror-symmetric network (the same class everywhere): mirroring changes no label.
  assertEquals(tta.labels.data, plain.labels.data);
});

Deno.test("the default 256x256x192 patch on Colin27 completes and overlays the input exactly", {
  ignore: !(await import("../_fixtures.ts")).haveFile((await import("../_fixtures.ts")).CH2),
}, async () => {
  const { CH2 } = await import("../_fixtures.ts");
  const r = await segment(CH2, { models: ANALYTIC, card, patch: [256, 256, 192], compute: "cpu" });
  const src = await readNifti(CH2);
  assertEquals(r.labels.dims, src.dims);
  assertClose(r.labels.affine.flat(), src.affine.flat(), 0);
  assertEquals([r.labels.header.qformCode, r.labels.header.sformCode], [src.header.qformCode, src.header.sformCode]);
  assertEquals(r.geometry.resampled, [236, 287, 241]);
  assertEquals(r.tiles, 4);
});

Deno.test("the card's resampling.image order is honoured: order 1 gives other labels than order 3", async () => {
  const base = { models: ANALYTIC, patch: [64, 64, 48] as [number, number, number], compute: "cpu" as const };
  const cubic = await segment(join(GOLDEN, "phantom.nii.gz"), { ...base, card });
  const linearCard = validateCard({ ...card, resampling: { ...card.resampling, image: 1 } }, "order1");
  assertEquals(linearCard.resampling.image, 1);
  const linear = await segment(join(GOLDEN, "phantom.nii.gz"), { ...base, card: linearCard });
  let differ = 0;
  for (let i = 0; i < cubic.labels.data.length; i++) if (cubic.labels.data[i] !== linear.labels.data[i]) differ++;
  assert(differ > 0, "order 1 and order 3 gave the same labels: the card's order is not used");
  // Same geometry, only the interpolation changed.
  assertEquals(linear.geometry.resampled, cubic.geometry.resampled);
});

Deno.test("a loaded fold's model bytes and their CPU rewrite are freed once its session exists", async () => {
  const { tinyModel } = await import("../_models.ts");
  const seen: { model: Uint8Array; rewritten: Uint8Array; lengths: number[] }[] = [];
  const inner = countingBackend([]);
  const backend = {
    create: async (
      source: { model: Uint8Array | string; forProvider?: (p: "cpu") => Uint8Array | Promise<Uint8Array> },
    ) => {
      const model = source.model as Uint8Array;
      const rewritten = await source.forProvider!("cpu");
      // While the backend loads, both are whole (and a rewrite: the fp16 model upcast).
      seen.push({ model, rewritten, lengths: [model.length, rewritten.length] });
      assert(rewritten !== model);
      return await inner.create();
    },
  };
  const fp16 = await tinyModel(true);
  await using dir = await tempDir();
  const copies = [join(dir.path, "a.onnx"), join(dir.path, "b.onnx")];
  for (const c of copies) await Deno.copyFile(fp16, c);
  await segment(join(GOLDEN, "phantom.nii.gz"), { models: copies, card, patch: [96, 96, 96], backend });
  assertEquals(seen.length, 2);
  const size = (await Deno.stat(fp16)).size;
  for (const s of seen) {
    assertEquals(s.lengths[0], size);
    assert(s.lengths[1] > size, "the upcast model is larger");
    assertEquals([s.model.length, s.rewritten.length], [0, 0]);
  }
});
