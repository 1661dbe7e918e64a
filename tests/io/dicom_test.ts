import { defaultHeader } from "../../lib/io/volume.ts";
import {
  dicomFiles,
  dicomInfoOf,
  isDicomFile,
  isDicomFolder,
  parseSeriesPath,
  primeSeries,
  readDicomFolder,
  readDicomVolume,
  seriesPath,
} from "../../lib/io/dicom.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { haveFile, tempDir, withEnv } from "../_fixtures.ts";
import { assertSameImage, type SeriesSpec, sourceVolume, writeSeries } from "./_dicom_writer.ts";

/** Deterministic signed 16-bit values covering negatives. */
function stored(n: number, seed: number): Int16Array {
  const out = new Int16Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = (s >>> 8) % 4001 - 2000;
  }
  return out;
}

const DIMS = [12, 10, 9];
const AXIAL = [[-0.9, 0, 0, 40], [0, 0.8, 0, -20], [0, 0, 1.5, -30], [0, 0, 0, 1]];
const t = 0.35, c = Math.cos(t), s = Math.sin(t);
const OBLIQUE = [[0.9 * c, 0, 1.2 * s, 5], [0, 0.8, 0, -7], [-0.9 * s, 0, 1.2 * c, 11], [0, 0, 0, 1]];

function spec(over: Partial<SeriesSpec>): SeriesSpec {
  return {
    stored: stored(DIMS[0] * DIMS[1] * DIMS[2], 7),
    dims: DIMS,
    affine: AXIAL,
    slope: 2,
    intercept: -1024,
    seriesNumber: 3,
    description: "ax t1",
    uid: "1.2.826.0.1.3680043.9.7777.3",
    ...over,
  };
}

Deno.test("DICOM files are recognised by content, not extension", async () => {
  await using d = await tempDir();
  await writeSeries(d.path, spec({ fileName: (z) => `IM${z}` }));
  await Deno.writeTextFile(`${d.path}/notes.dcm`, "x".repeat(200));
  assert(await isDicomFile(`${d.path}/IM0`));
  assert(!(await isDicomFile(`${d.path}/notes.dcm`)));
  assertEquals((await dicomFiles(d.path)).length, DIMS[2]);
  assert(await isDicomFolder(d.path));
  assert(!(await isDicomFolder(`${d.path}/IM0`)));
  await Deno.mkdir(`${d.path}/empty`);
  assert(!(await isDicomFolder(`${d.path}/empty`)));
});

Deno.test("axial series: shuffled names, instance numbers against position, rescale, int16 signed", async () => {
  await using d = await tempDir();
  const sp = spec({
    fileName: (z) => `f${(z * 5) % 9}_${(z * 7919) % 101}`,
    instance: (z) => DIMS[2] - z,
  });
  await writeSeries(d.path, sp);
  const lines: string[] = [];
  const [one, ...rest] = await readDicomFolder(d.path, { log: (l) => lines.push(l) });
  assertEquals(rest.length, 0);
  assertSameImage(one.volume, sourceVolume(sp, defaultHeader()));
  assertEquals(one.seriesNumber, 3);
  assertEquals(one.description, "ax t1");
  assertEquals(one.uid, sp.uid);
  assert(/^dcm2niix v1\.0\.\d{8}$/.test(one.converter), one.converter);
  assertEquals(one.name, "3_ax_t1");
  assert(lines.some((l) => l.includes("dcm2niiX version")), "the converter's log is passed on");
});

Deno.test("oblique series keeps its oblique geometry", async () => {
  await using d = await tempDir();
  const sp = spec({ affine: OBLIQUE, modality: "MR", slope: 1, intercept: 0, description: "obl" });
  await writeSeries(d.path, sp);
  const [one] = await readDicomFolder(d.path);
  assertSameImage(one.volume, sourceVolume(sp, defaultHeader()));
});

Deno.test("a series with a missing slice is refused with its own message, unless gaps are allowed", async () => {
  await using d = await tempDir();
  await writeSeries(d.path, spec({ skip: [4] }));
  await assertRejects(
    () => readDicomFolder(d.path),
    /series 3 "ax t1": slices are not one regular grid \(.*(Interslice distance varies|Missing images).*--dicom-allow-gaps/,
  );
  const [one] = await readDicomFolder(d.path, { allowGaps: true });
  assert(one.warnings.some((w) => /Interslice distance varies/.test(w)));
  // dcm2niix's equidistant volume: the in-plane grid kept, slices 1.5 mm apart
  assertEquals(one.volume.dims.slice(0, 2), DIMS.slice(0, 2));
  assert(Math.abs(one.volume.pixdim[2] - 1.5) < 1e-4, `slice spacing ${one.volume.pixdim[2]}`);
});

Deno.test("two series in one folder give two, sorted by series number, one instance reused", async () => {
  await using d = await tempDir();
  const a = spec({ seriesNumber: 9, description: "second", uid: "1.2.826.0.1.3680043.9.7777.9" });
  const b = spec({
    seriesNumber: 2,
    description: "first/ax",
    affine: OBLIQUE,
    stored: stored(DIMS[0] * DIMS[1] * DIMS[2], 3),
  });
  await writeSeries(d.path, { ...a, fileName: (z) => `a${z}` });
  await writeSeries(d.path, { ...b, fileName: (z) => `b${z}` });
  const got = await readDicomFolder(d.path);
  assertEquals(got.map((g) => g.name), ["2_first_ax", "9_second"]);
  assertSameImage(got[0].volume, sourceVolume(b, defaultHeader()));
  assertSameImage(got[1].volume, sourceVolume(a, defaultHeader()));
  // the same instance converts again (nothing left over from the last folder)
  assertEquals((await readDicomFolder(d.path)).length, 2);
});

Deno.test("DICOM input: no DICOM files, and the size ceiling, are one-line errors naming the folder", async () => {
  await using d = await tempDir();
  await assertRejects(() => readDicomFolder(d.path), /: no DICOM files/);
  await writeSeries(d.path, spec({}));
  await withEnv({ SIAMIZE_MAX_INPUT_BYTES: "1K" }, async () => {
    await assertRejects(() => readDicomFolder(d.path), /DICOM files sum to \d+ bytes; the limit is 1024 bytes/);
  });
});

for (const [tool, what] of [["dcmcjpeg", "JPEG lossless"], ["dcmcjpls", "JPEG-LS lossless"]] as const) {
  Deno.test({
    name: `a ${what} copy (dcmtk's ${tool}) reads as the uncompressed series`,
    ignore: !haveFile(`/usr/bin/${tool}`),
    fn: async () => {
      await using d = await tempDir();
      const plain = `${d.path}/plain`, packed = `${d.path}/packed`;
      await Deno.mkdir(plain);
      await Deno.mkdir(packed);
      const sp = spec({ description: what });
      for (const name of await writeSeries(plain, sp)) {
        const r = await new Deno.Command(`/usr/bin/${tool}`, { args: [`${plain}/${name}`, `${packed}/${name}`] })
          .output();
        assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
      }
      const bytes = await Deno.readFile(`${packed}/0.dcm`);
      const syntax = new TextDecoder().decode(bytes.subarray(132, 400));
      assert(syntax.includes(tool === "dcmcjpeg" ? "1.2.840.10008.1.2.4.70" : "1.2.840.10008.1.2.4.80"), "compressed");
      const [one] = await readDicomFolder(packed);
      assertSameImage(one.volume, sourceVolume(sp, defaultHeader()));
    },
  });
}

Deno.test("a primed series is read once without converting again; the gap guard still applies to it", async () => {
  await using d = await tempDir();
  const dir = `${d.path}/s`;
  await Deno.mkdir(dir);
  const sp = spec({ skip: [4] });
  await writeSeries(dir, sp);
  const [listed] = await readDicomFolder(dir, { allowGaps: true });
  assert(listed.equidistant);
  const strict = seriesPath(dir, listed), lax = seriesPath(dir, listed, true);
  assertEquals(parseSeriesPath(lax), { dir, series: 3, allowGaps: true });
  primeSeries(strict, listed);
  await assertRejects(() => readDicomVolume(strict), /series 3 "ax t1": slices are not one regular grid/);
  primeSeries(lax, listed);
  await Deno.remove(dir, { recursive: true }); // read from the primed series, not the (gone) folder
  assertEquals((await readDicomVolume(lax)).dims, listed.volume.dims);
  assertEquals(dicomInfoOf(lax)?.uid, sp.uid);
  await assertRejects(() => readDicomVolume(lax), /cannot read the folder/); // taken once
});
