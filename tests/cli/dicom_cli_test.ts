import { main } from "../../cli.ts";
import { join } from "../../lib/core/_std.ts";
import { readNifti, writeNifti } from "../../lib/io/nifti.ts";
import { defaultHeader } from "../../lib/io/volume.ts";
import { readVolume } from "../../mod.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir } from "../_fixtures.ts";
import { assertSameImage, type SeriesSpec, sourceVolume, writeMultiFrame, writeSeries } from "../io/_dicom_writer.ts";
import { zipFolder } from "../io/_zip_writer.ts";

const ANALYTIC = join(GOLDEN, "analytic.onnx");
const CARD = join(ROOT, "models", "testing", "analytic.json");

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false });
  return { code, out, err };
}

/** A head-like blob: a bright ellipsoid shell around a mid-grey core on a dark background (int16 stored). */
function blob(dims: number[]): Int16Array {
  const [nx, ny, nz] = dims;
  const out = new Int16Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const r = Math.hypot((x - nx / 2) / (nx / 2.5), (y - ny / 2) / (ny / 2.5), (z - nz / 2) / (nz / 2.5));
        out[x + nx * (y + ny * z)] = r < 0.6 ? 300 + ((x * 7 + y * 3 + z) % 11) : r < 1 ? 900 - (z % 5) : 20 + (x % 3);
      }
    }
  }
  return out;
}

const DIMS = [40, 36, 30];
function spec(over: Partial<SeriesSpec> = {}): SeriesSpec {
  return {
    stored: blob(DIMS),
    dims: DIMS,
    affine: [[-1.5, 0, 0, 30], [0, 1.5, 0, -27], [0, 0, 1.6, -20], [0, 0, 0, 1]],
    slope: 0.5,
    intercept: -100,
    seriesNumber: 4,
    description: "T1 mprage",
    uid: "1.2.826.0.1.3680043.9.7777.44",
    modality: "MR",
    instance: (z) => DIMS[2] - z,
    fileName: (z) => `IM_${(z * 17) % 31}`,
    ...over,
  };
}

const ARGS = ["-M", ANALYTIC, "--card", CARD, "-c", "cpu", "-t", "2", "-P", "32x32x32", "-q"];

Deno.test("siamize -i DICOM_FOLDER: labels equal those from the source NIfTI; --report records the series", async () => {
  await using d = await tempDir();
  const dcm = join(d.path, "dicom");
  await Deno.mkdir(dcm);
  const sp = spec();
  await writeSeries(dcm, sp);
  const src = sourceVolume(sp, defaultHeader());
  await writeNifti(join(d.path, "src.nii.gz"), src);
  assertSameImage(await readVolume(dcm), src); // the module reads the folder too
  const a = await run(["-i", join(d.path, "src.nii.gz"), "-o", join(d.path, "a.nii.gz"), ...ARGS]);
  assertEquals(a.code, 0, a.err.join("\n"));
  const report = join(d.path, "run.json");
  const b = await run(["-i", dcm, "-o", join(d.path, "b.nii.gz"), ...ARGS, "--report", report]);
  assertEquals(b.code, 0, b.err.join("\n"));
  const la = await readNifti(join(d.path, "a.nii.gz"));
  const lb = await readNifti(join(d.path, "b.nii.gz"));
  assert(new Set(la.data).size > 1, "the analytic model found more than one label");
  assertSameImage(lb, la);
  const rep = JSON.parse(await Deno.readTextFile(report));
  assertEquals(rep.dicom.seriesNumber, 4);
  assertEquals(rep.dicom.description, "T1 mprage");
  assertEquals(rep.dicom.uid, sp.uid);
  assert(/^dcm2niix v1\.0\.\d{8}$/.test(rep.dicom.converter), rep.dicom.converter);
  assertEquals(rep.dicom.equidistant, false);
});

Deno.test("two series in one DICOM folder: a batch named from series number and description; --series picks one", async () => {
  await using d = await tempDir();
  const dcm = join(d.path, "dicom");
  await Deno.mkdir(dcm);
  await writeSeries(dcm, spec({ fileName: (z) => `a${z}` }));
  await writeSeries(
    dcm,
    spec({ seriesNumber: 7, description: "T2 tse", uid: "1.2.826.0.1.3680043.9.7777.77", fileName: (z) => `b${z}` }),
  );
  const out = join(d.path, "out");
  const r = await run(["-i", dcm, "-o", out, ...ARGS]);
  assertEquals(r.code, 0, r.err.join("\n"));
  const names = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.endsWith(".nii.gz")).sort();
  assertEquals(names, ["4_T1_mprage_seg.nii.gz", "7_T2_tse_seg.nii.gz"]);
  const zip = join(d.path, "two.zip"), fromZip = join(d.path, "out_zip");
  await zipFolder(dcm, zip);
  const z = await run(["-i", zip, "-o", fromZip, ...ARGS]);
  assertEquals(z.code, 0, z.err.join("\n"));
  for (const n of names) assertSameImage(await readNifti(join(fromZip, n)), await readNifti(join(out, n)));
  const one = join(d.path, "one.nii.gz");
  const p = await run(["-i", dcm, "-o", one, "--series", "7", ...ARGS]);
  assertEquals(p.code, 0, p.err.join("\n"));
  assertSameImage(await readNifti(one), await readNifti(join(out, "7_T2_tse_seg.nii.gz")));
  const none = await run(["-i", dcm, "-o", one, "--series", "5", ...ARGS]);
  assertEquals(none.code, 66);
  assert(/no DICOM series 5/.test(none.err.join("\n")), none.err.join("\n"));
  await assertRejects(() => readVolume(dcm), /holds 2 DICOM series \(4 "T1 mprage", 7 "T2 tse"\): pick one/);
});

Deno.test("a DICOM series with a missing slice stops the run with its own line; --dicom-allow-gaps runs it", async () => {
  await using d = await tempDir();
  await writeSeries(d.path, spec({ skip: [12] }));
  const out = join(d.path, "l.nii.gz");
  const r = await run(["-i", d.path, "-o", out, ...ARGS]);
  assertEquals(r.code, 65);
  assertEquals(r.err.length, 1);
  // slice k at z = 1.6 k - 20 mm, instance 30 - k: slice 12 (instance 18) left out, named in instance order
  assert(
    r.err[0].includes(
      'series 4 "T1 mprage": slices are not one regular grid: missing slice between instance 17 and 19 (z = 0.8 → -2.4 mm)',
    ),
    r.err[0],
  );
  assert(!Deno.readDirSync(d.path).some((e) => e.name.endsWith(".nii.gz")), "no partial output");
  const g = await run(["-i", d.path, "-o", out, ...ARGS, "--dicom-allow-gaps"]);
  assertEquals(g.code, 0, g.err.join("\n"));
});

Deno.test("siamize -i series.zip and -i multiframe.dcm: the folder's labels; a truncated zip exits 65 with one line", async () => {
  await using d = await tempDir();
  const dcm = join(d.path, "dicom");
  await Deno.mkdir(dcm);
  const sp = spec();
  await writeSeries(dcm, sp);
  const a = await run(["-i", dcm, "-o", join(d.path, "a.nii.gz"), ...ARGS]);
  assertEquals(a.code, 0, a.err.join("\n"));
  const zip = join(d.path, "series.zip");
  await zipFolder(dcm, zip);
  const report = join(d.path, "z.json");
  const z = await run(["-i", zip, "-o", join(d.path, "z.nii.gz"), ...ARGS, "--report", report]);
  assertEquals(z.code, 0, z.err.join("\n"));
  assertSameImage(await readNifti(join(d.path, "z.nii.gz")), await readNifti(join(d.path, "a.nii.gz")));
  assertEquals(JSON.parse(await Deno.readTextFile(report)).dicom.uid, sp.uid);
  const mf = join(d.path, "enhanced.dcm");
  await writeMultiFrame(mf, sp);
  const m = await run(["-i", mf, "-o", join(d.path, "m.nii.gz"), ...ARGS]);
  assertEquals(m.code, 0, m.err.join("\n"));
  assertSameImage(await readNifti(join(d.path, "m.nii.gz")), await readNifti(join(d.path, "a.nii.gz")));
  const bytes = await Deno.readFile(zip);
  const cut = join(d.path, "cut.zip");
  await Deno.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const c = await run(["-i", cut, "-o", join(d.path, "c.nii.gz"), ...ARGS]);
  assertEquals(c.code, 65);
  assertEquals(c.err.length, 1, c.err.join("\n"));
  assert(c.err[0].includes(`${cut}: not a readable zip archive`), c.err[0]);
  assert(!Deno.readDirSync(d.path).some((e) => e.name.startsWith("c.nii")), "no partial output");
  const one = await run(["-i", join(dcm, "IM_0"), "-o", join(d.path, "s.nii.gz"), ...ARGS]);
  assertEquals(one.code, 65);
  assertEquals(one.err, [
    `siamize: ${
      join(dcm, "IM_0")
    }: a single-slice DICOM file: give the folder that holds its series (or a multi-frame file)`,
  ]);
});
