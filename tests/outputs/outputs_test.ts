import { main } from "../../cli.ts";
import { join } from "../../lib/core/_std.ts";
import { decodeBJData, encodeBJData } from "../../lib/io/bjdata.ts";
import { readVolume, writeVolume } from "../../lib/io/read.ts";
import { parseJnifti, shuffleBytes, transposeOrder } from "../../lib/io/jnifti.ts";
import { loadCard } from "../../lib/cards/parse.ts";
import { SIAM_V03 } from "../../lib/cards/shipped.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { sidecarPath, tpmPath } from "../../lib/outputs/outputs.ts";
import { crc32 } from "../../lib/io/png.ts";
import { argmaxProbabilities, mergeClasses, softmaxInPlace } from "../../lib/numerics/probabilities.ts";
import { segment } from "../../lib/run/segment.ts";
import { appendVolumes, labelTableTsv, tissueVolumes } from "../../lib/outputs/volumes.ts";
import { assert, assertClose, assertEquals, assertRejects } from "../_assert.ts";
import { GOLDEN, havePython, PYTHON, ROOT, sha256Of, tempDir } from "../_fixtures.ts";

const ANALYTIC = join(GOLDEN, "analytic.onnx");
const PHANTOM = join(GOLDEN, "phantom.nii.gz");
const card = await loadCard(join(ROOT, "models", "testing", "analytic.json"));
const base = { models: ANALYTIC, card, patch: [64, 64, 48] as [number, number, number], compute: "cpu" as const };

function entropy(p: Float32Array, classes: number, i: number, n: number): number {
  let h = 0;
  for (let c = 0; c < classes; c++) {
    const v = p[c * n + i];
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}

Deno.test("TPM: 4-D float32 on the input grid, sums to 1, argmax equals the labels; temperature changes entropy", async () => {
  const r1 = await segment(PHANTOM, { ...base, tpm: true });
  const r3 = await segment(PHANTOM, { ...base, tpm: true, tpmT: 3 });
  const src = await readNifti(PHANTOM);
  const p = r1.probabilities!;
  assertEquals(p.dims, [...src.dims, 18]);
  assertClose(p.affine.flat(), src.affine.flat(), 1e-9);
  const n = src.data.length;
  const data = p.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < 18; c++) s += data[c * n + i];
    worst = Math.max(worst, Math.abs(s - 1));
  }
  assert(worst <= 1e-5, `sum off by ${worst}`);
  assertEquals(argmaxProbabilities(data, 18), r1.labels.data);
  // A higher temperature flattens the distribution: mean entropy goes up.
  let h1 = 0, h3 = 0;
  for (let i = 0; i < n; i += 7) {
    h1 += entropy(data, 18, i, n);
    h3 += entropy(r3.probabilities!.data as Float32Array, 18, i, n);
  }
  assert(h3 > h1 * 1.1, `entropy T=1 ${h1}, T=3 ${h3}`);
  const rh = await segment(PHANTOM, { ...base, tpm: true, tpmT: 0.5 });
  let hh = 0;
  for (let i = 0; i < n; i += 7) hh += entropy(rh.probabilities!.data as Float32Array, 18, i, n);
  assert(hh < h1 * 0.9, `entropy T=0.5 ${hh}, T=1 ${h1}`);
});

Deno.test("SPM classes: labels 0-5 are the argmax of the merged probabilities", async () => {
  const r = await segment(PHANTOM, { ...base, tpm: true, classes: "spm" });
  assertEquals(r.labelTable.map((c) => c.abbreviation), ["GM", "WM", "CSF", "Bone", "Soft", "Air"]);
  const p = r.probabilities!;
  assertEquals(p.dims[3], 6);
  assertEquals(argmaxProbabilities(p.data as Float32Array, 6), r.labels.data);
  assert(r.labels.data.every((l) => l <= 5));
  // Consistent with merging the 18-class probabilities.
  const full = await segment(PHANTOM, { ...base, tpm: true });
  const merged = mergeClasses(full.probabilities!.data as Float32Array, 18, SIAM_V03.merges!.spm.map, 6);
  assertClose(merged, p.data, 1e-5);
});

Deno.test("softmax: stable for large logits, merge sums channels", () => {
  const p = Float32Array.from([1000, 0, 1001, 0, 999, 0]); // 3 classes, 2 voxels
  softmaxInPlace(p, 3);
  assertClose([p[0] + p[2] + p[4], p[1] + p[3] + p[5]], [1, 1], 1e-6);
  assertClose([p[1], p[3], p[5]], [1 / 3, 1 / 3, 1 / 3], 1e-6);
  assertClose(mergeClasses(p, 3, [1, 0, 1], 2), [p[2], p[3], p[0] + p[4], p[1] + p[5]], 1e-7);
});

Deno.test("JNIfTI .jnii/.bnii round-trip: labels, 4-D float maps, shuffle, geometry and label table", async () => {
  await using dir = await tempDir();
  const affine = [[0, 0, -1.5, 30], [-1, 0, 0, 20], [0, 1.2, 0, -10], [0, 0, 0, 1]];
  const labels = makeVolume(new Uint8Array(4 * 5 * 6).map((_, i) => i % 18), [4, 5, 6], affine);
  const maps = makeVolume(new Float32Array(4 * 5 * 6 * 3).map((_, i) => Math.sin(i)), [4, 5, 6, 3], affine);
  for (const ext of [".jnii", ".bnii"]) {
    for (const shuffle of [false, true]) {
      const a = join(dir.path, `l${shuffle ? "s" : ""}${ext}`), b = join(dir.path, `m${shuffle ? "s" : ""}${ext}`);
      await writeVolume(a, labels, { labels: SIAM_V03.classes, shuffle });
      await writeVolume(b, maps, { shuffle });
      const la = await readVolume(a);
      assert(la.data instanceof Uint8Array);
      assertEquals(Array.from(la.data), Array.from(labels.data));
      assertClose(la.affine.flat(), affine.flat(), 1e-12);
      const mb = await readVolume(b, { allow4D: true });
      assertEquals(mb.dims, [4, 5, 6, 3]);
      assertClose(mb.data, maps.data, 0);
      const raw = await Deno.readFile(a);
      const doc = (ext === ".jnii" ? JSON.parse(new TextDecoder().decode(raw)) : decodeBJData(raw)) as Record<
        string,
        Record<string, unknown>
      >;
      const table = (doc.NIFTIHeader._DataInfo_ as Record<string, Record<string, unknown[]>>).LabelTable;
      assertEquals(table.Label.length, 18);
      assertEquals(table.Label[1], "gray matter");
      assertEquals(doc.NIFTIData._ArrayShuffle_ !== undefined, shuffle);
    }
  }
  await assertRejects(() => readVolume(join(dir.path, "m.jnii")), /m\.jnii: 4-D image with 3 volumes/);
});

Deno.test("JNIfTI helpers: row-major transpose and byte shuffle are inverses; BJData values", () => {
  const d = new Float32Array(24).map((_, i) => i);
  const r = transposeOrder(d, [2, 3, 4], true);
  assertEquals(r[1], 6); // row-major: last index fastest -> (0,0,1) is x-fastest index 6
  assertClose(transposeOrder(r, [2, 3, 4], false), d, 0);
  const b = new Uint8Array(12).map((_, i) => i);
  assertEquals(Array.from(shuffleBytes(b, 4)), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  assertEquals(shuffleBytes(shuffleBytes(b, 4), 4, true), b);
  const v = {
    a: [1, -2, 300, -40000, 70000, 1.5, 5e9],
    s: "naïve",
    t: true,
    n: null,
    bytes: new Uint8Array([1, 2, 3]),
  };
  assertEquals(decodeBJData(encodeBJData(v)), v);
});

Deno.test("bad JNIfTI input is a one-line error naming the file", async () => {
  await assertRejects(
    () => parseJnifti("x.jnii", new TextEncoder().encode('{"a": 1}')),
    /^x\.jnii: not a JNIfTI file \(no NIFTIHeader/,
  );
  await assertRejects(() => parseJnifti("x.bnii", new Uint8Array([0x7b, 0x55])), /^x\.bnii: not a JNIfTI file/);
});

Deno.test("volumes: per class mL sum to the head volume; tables append; label table TSV", async () => {
  await using dir = await tempDir();
  const affine = [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 1]]; // 1 mm^3 voxels
  const data = new Uint8Array(1000).map((_, i) => (i < 100 ? 0 : i % 18));
  const vol = makeVolume(data, [10, 10, 10], affine);
  const row = tissueVolumes(vol, SIAM_V03.classes, SIAM_V03.intracranial, "a.nii");
  const head = SIAM_V03.classes.slice(1).reduce((s, c) => s + (row[`${c.abbreviation}_ml`] as number), 0);
  const nonzero = data.reduce((a, l) => a + (l ? 1 : 0), 0);
  assertClose([head], [nonzero / 1000], 1e-9); // 1 mm^3 voxels
  assertClose([row.tiv_ml], [
    SIAM_V03.intracranial.reduce((s, c) => s + (row[`${SIAM_V03.classes[c].abbreviation}_ml`] as number), 0),
  ], 1e-9);
  for (const ext of ["csv", "tsv", "json"]) {
    const p = join(dir.path, `vol.${ext}`);
    await appendVolumes(p, [row]);
    await appendVolumes(p, [{ ...row, input: "b, c.nii" }]);
    const text = await Deno.readTextFile(p);
    if (ext === "json") assertEquals(JSON.parse(text).map((r: { input: string }) => r.input), ["a.nii", "b, c.nii"]);
    else {
      const lines = text.trim().split("\n");
      assertEquals(lines.length, 3);
      assert(lines[0].startsWith(`input${ext === "csv" ? "," : "\t"}tiv_ml`));
      if (ext === "csv") assert(lines[2].startsWith('"b, c.nii",'));
    }
  }
  await Deno.writeTextFile(join(dir.path, "other.csv"), "x,y\n1,2\n");
  await assertRejects(() => appendVolumes(join(dir.path, "other.csv"), [row]), /other columns/);
  const tsv = labelTableTsv(SIAM_V03.classes).split("\n");
  assertEquals(tsv[0], "index\tname\tabbreviation\tcolor\tmapping");
  assertEquals(tsv[2], "1\tgray matter\tGM\t#cd3e4e\t8");
});

/** Reads a PNG's size and checks its chunks' CRCs and the inflated data length. */
async function pngInfo(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  assertEquals(Array.from(bytes.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  let p = 8, width = 0, height = 0;
  const idat: Uint8Array[] = [];
  while (p < bytes.length) {
    const len = v.getUint32(p);
    const type = new TextDecoder().decode(bytes.subarray(p + 4, p + 8));
    const crc = v.getUint32(p + 8 + len);
    assertEquals((crc32(bytes.subarray(p + 4, p + 8 + len)) ^ 0xffffffff) >>> 0, crc, `${type} CRC`);
    if (type === "IHDR") [width, height] = [v.getUint32(p + 8), v.getUint32(p + 12)];
    if (type === "IDAT") idat.push(bytes.slice(p + 8, p + 8 + len));
    p += 12 + len;
  }
  const raw = new Uint8Array(
    await new Response(
      new Blob(idat as Uint8Array<ArrayBuffer>[]).stream().pipeThrough(new DecompressionStream("deflate")),
    ).arrayBuffer(),
  );
  assertEquals(raw.length, height * (1 + 3 * width));
  return { width, height };
}

Deno.test("CLI outputs: TPM, sidecar, JNIfTI, volumes, QC picture", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "seg.nii.gz");
  const vol = join(dir.path, "volumes.csv");
  const qc = join(dir.path, "qc.png");
  const argv = [
    "-i",
    PHANTOM,
    "-M",
    ANALYTIC,
    "--card",
    join(ROOT, "models", "testing", "analytic.json"),
    "-c",
    "cpu",
    "-q",
  ];
  const io = { out: () => {}, err: (l: string) => errs.push(l), isTty: false };
  const errs: string[] = [];
  // Labels at -o and the map at --tpm-out, in one run.
  const tpmOut = join(dir.path, "seg_tpm.nii.gz");
  assertEquals(
    await main([...argv, "-o", out, "--tpm-out", tpmOut, "--vol", vol, "--qc", qc], io),
    0,
    errs.join("\n"),
  );
  assertEquals((await readNifti(out)).dims, [80, 60, 90]);
  const tpm = await readNifti(tpmOut, { allow4D: true });
  assertEquals([tpm.dims, tpm.header.datatype], [[80, 60, 90, 18], "float32"]);
  // As the C++ siamize: with --tpm the file at -o IS the (X, Y, Z, 18) float32 map, and no labels are written.
  const only = join(dir.path, "map.nii.gz");
  assertEquals(await main([...argv, "-o", only, "--tpm", "--no-sidecar"], io), 0, errs.join("\n"));
  const map = await readNifti(only, { allow4D: true });
  assertEquals([map.dims, map.header.datatype], [[80, 60, 90, 18], "float32"]);
  assertClose(map.data, tpm.data, 0);
  assertEquals(tpmPath(only), join(dir.path, "map_tpm.nii.gz")); // not written: checked by the listing below
  assertEquals(await Deno.readTextFile(sidecarPath(out)), labelTableTsv(card.classes));
  const { width, height } = await pngInfo(await Deno.readFile(qc));
  assert(width > 600 && height > 400, `${width}x${height}`);
  // JNIfTI output with SPM classes, and a second row in the volumes table.
  const jout = join(dir.path, "seg.jnii");
  const vol6 = join(dir.path, "volumes6.tsv");
  assertEquals(await main([...argv, "-o", jout, "-C", "spm", "--vol", vol6], io), 0, errs.join("\n"));
  const j = await readVolume(jout);
  assertEquals(j.dims, [80, 60, 90]);
  // The header names the model file that ran, with its hash.
  const jdoc = JSON.parse(await Deno.readTextFile(jout));
  assertEquals(jdoc.NIFTIHeader._DataInfo_.Models, [{ Name: "analytic.onnx", SHA256: await sha256Of(ANALYTIC) }]);
  assert(j.data.every((l) => l <= 5));
  assertEquals((await Deno.readTextFile(vol6)).trim().split("\n").length, 2);
  // A second 18-class run appends to the first table.
  assertEquals(
    await main([...argv, "-o", join(dir.path, "b.nii"), "--no-sidecar", "--vol", vol], io),
    0,
    errs.join("\n"),
  );
  assertEquals((await Deno.readTextFile(vol)).trim().split("\n").length, 3);
  // Refuses to overwrite any planned output; nothing is half-written.
  errs.length = 0;
  assertEquals(await main([...argv, "-o", join(dir.path, "new.nii.gz"), "--qc", qc], io), 73);
  assert(errs[0].includes("qc.png: already exists"));
  const names = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  assertEquals(names, [
    "b.nii",
    "map.nii.gz",
    "qc.png",
    "seg.jnii",
    "seg.labels.tsv",
    "seg.nii.gz",
    "seg_tpm.nii.gz",
    "volumes.csv",
    "volumes6.tsv",
  ]);
});

Deno.test("JNIfTI inputs segment like their NIfTI originals", async () => {
  await using dir = await tempDir();
  const src = await readNifti(PHANTOM);
  const bnii = join(dir.path, "phantom.bnii");
  await writeVolume(bnii, src);
  const a = await segment(PHANTOM, base);
  const b = await segment(bnii, base);
  assertEquals(b.labels.dims, a.labels.dims);
  assertClose(b.labels.affine.flat(), a.labels.affine.flat(), 1e-5);
  let same = 0;
  for (let i = 0; i < a.labels.data.length; i++) if (a.labels.data[i] === b.labels.data[i]) same++;
  assert(same / a.labels.data.length > 0.9999, `${same}`);
});

Deno.test("big-endian .bnii (BJData Draft 1) round-trips and reads like the little-endian one", async () => {
  await using dir = await tempDir();
  const affine = [[0, 0, -1.5, 30], [-1, 0, 0, 20], [0, 1.2, 0, -10], [0, 0, 0, 1]];
  const vol = makeVolume(new Float32Array(3 * 4 * 5).map((_, i) => i * 0.25 - 3), [3, 4, 5], affine);
  for (const endian of ["little", "big"] as const) {
    const p = join(dir.path, `${endian}.bnii`);
    await writeVolume(p, vol, { endian, labels: SIAM_V03.classes });
    const back = await readVolume(p);
    assertClose(back.data, vol.data, 0);
    assertClose(back.affine.flat(), affine.flat(), 1e-12);
  }
  const le = await Deno.readFile(join(dir.path, "little.bnii")), be = await Deno.readFile(join(dir.path, "big.bnii"));
  assert(le.some((b, i) => b !== be[i]), "the byte orders differ");
});

/** What Debian's python3-jdata (and, for .bnii, python3-bjdata) loads from a file: shape, x-fastest values, affine. */
async function jdataLoad(path: string): Promise<{ shape: number[]; x_fastest: number[]; affine: number[][] }> {
  const script = `
import sys, json, jdata, numpy as np
d = jdata.load(sys.argv[1])
a = np.asarray(d["NIFTIData"])
print(json.dumps({"shape": list(a.shape), "x_fastest": a.flatten(order="F").tolist(),
                  "affine": np.asarray(d["NIFTIHeader"]["Affine"], dtype=float).tolist()}))
`;
  const r = await new Deno.Command(PYTHON, { args: ["-c", script, path], stdout: "piped", stderr: "piped" }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

for (
  const [ext, modules, endian, what] of [
    [".jnii", ["jdata"], "little", "python3-jdata loads our .jnii"],
    [".bnii", ["jdata", "bjdata"], "big", "python3-bjdata (Draft 1) loads our big-endian .bnii"],
  ] as const
) {
  Deno.test({
    name: `Debian's ${what} with the same array and affine`,
    ignore: !havePython([...modules, "numpy"]),
    fn: async () => {
      await using dir = await tempDir();
      const affine = [[0, 0, -1.5, 30], [-1, 0, 0, 20], [0, 1.2, 0, -10], [0, 0, 0, 1]];
      const vol = makeVolume(new Float32Array(3 * 4 * 5).map((_, i) => i * 0.5), [3, 4, 5], affine);
      const p = join(dir.path, `v${ext}`);
      await writeVolume(p, vol, { endian, labels: SIAM_V03.classes });
      const got = await jdataLoad(p);
      assertEquals(got.shape, [3, 4, 5]);
      assertClose(got.x_fastest, vol.data, 0);
      assertClose(got.affine.flat(), affine.slice(0, 3).flat(), 1e-12);
    },
  });
}
