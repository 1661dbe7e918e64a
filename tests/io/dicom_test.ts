import { defaultHeader } from "../../lib/io/volume.ts";
import { dicomFiles, isDicomFile, isDicomFileInput, isDicomFolder } from "../../lib/io/dicom_source.ts";
import {
  dicomInfoOf,
  parseSeriesPath,
  primeSeries,
  readDicom,
  readDicomVolume,
  seriesPath,
} from "../../lib/io/dicom.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { haveFile, tempDir, withEnv } from "../_fixtures.ts";
import { assertSameImage, type SeriesSpec, sourceVolume, writeMultiFrame, writeSeries } from "./_dicom_writer.ts";
import { zipBytes, zipFolder } from "./_zip_writer.ts";

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
  const fifo = `${d.path}/pipe`;
  if ((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success) {
    assert(!(await isDicomFile(fifo)), "a FIFO is not opened (it would block)");
    assert(!(await isDicomFileInput(fifo)));
  }
  assert(!(await isDicomFile("/dev/zero")));
});

Deno.test("axial series: shuffled names, instance numbers against position, rescale, int16 signed", async () => {
  await using d = await tempDir();
  const sp = spec({
    fileName: (z) => `f${(z * 5) % 9}_${(z * 7919) % 101}`,
    instance: (z) => DIMS[2] - z,
  });
  await writeSeries(d.path, sp);
  const lines: string[] = [];
  const [one, ...rest] = await readDicom(d.path, { log: (l) => lines.push(l) });
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
  const [one] = await readDicom(d.path);
  assertSameImage(one.volume, sourceVolume(sp, defaultHeader()));
});

Deno.test("a series with a missing slice is refused with its own message, unless gaps are allowed", async () => {
  await using d = await tempDir();
  await writeSeries(d.path, spec({ skip: [4] }));
  // AXIAL: slice k at z = 1.5 k - 30 mm, instance k + 1; slice 4 (instance 5, z = -24) left out
  await assertRejects(
    () => readDicom(d.path),
    /^[^\n]*: series 3 "ax t1": slices are not one regular grid: missing slice between instance 4 and 6 \(z = -25\.5 → -22\.5 mm\) \(dcm2niix: .*(Interslice distance varies|Missing images).*--dicom-allow-gaps[^\n]*$/,
  );
  const [one] = await readDicom(d.path, { allowGaps: true });
  assertEquals(one.gapSlices, ["missing slice between instance 4 and 6 (z = -25.5 → -22.5 mm)"]);
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
  const got = await readDicom(d.path);
  assertEquals(got.map((g) => g.name), ["2_first_ax", "9_second"]);
  assertSameImage(got[0].volume, sourceVolume(b, defaultHeader()));
  assertSameImage(got[1].volume, sourceVolume(a, defaultHeader()));
  // the same instance converts again (nothing left over from the last folder)
  assertEquals((await readDicom(d.path)).length, 2);
});

Deno.test("DICOM input: no DICOM files, and the size ceiling, are one-line errors naming the folder", async () => {
  await using d = await tempDir();
  await assertRejects(() => readDicom(d.path), /: no DICOM files/);
  await writeSeries(d.path, spec({}));
  await withEnv({ SIAMIZE_MAX_INPUT_BYTES: "1K" }, async () => {
    await assertRejects(() => readDicom(d.path), /DICOM files sum to \d+ bytes; the limit is 1024 bytes/);
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
      const [one] = await readDicom(packed);
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
  const [listed] = await readDicom(dir, { allowGaps: true });
  assert(listed.equidistant);
  const strict = seriesPath(dir, listed), lax = seriesPath(dir, listed, true);
  assertEquals(parseSeriesPath(lax), { dir, series: 3, allowGaps: true });
  primeSeries(strict, listed);
  await assertRejects(() => readDicomVolume(strict), /series 3 "ax t1": slices are not one regular grid/);
  primeSeries(lax, listed);
  await Deno.remove(dir, { recursive: true }); // read from the primed series, not the (gone) folder
  assertEquals((await readDicomVolume(lax)).dims, listed.volume.dims);
  assertEquals(dicomInfoOf(lax)?.uid, sp.uid);
  await assertRejects(() => readDicomVolume(lax), /: cannot read \(/); // taken once
});

Deno.test("a zip of a series gives the folder's volume; other entries are skipped, entry names never touch the disk", async () => {
  await using d = await tempDir();
  const dir = `${d.path}/s`;
  await Deno.mkdir(dir);
  const sp = spec({ fileName: (z) => `IM${z}` });
  await writeSeries(dir, sp);
  const [fromFolder] = await readDicom(dir);
  const evil = await Deno.readFile(`${dir}/IM0`); // a copy of a slice under hostile names: the same SOP instance
  const zip = `${d.path}/series.bin`; // recognised by content, not extension
  await zipFolder(dir, zip, [
    { name: "README.txt", data: new TextEncoder().encode("scanner export") },
    { name: "../../escape.dcm", data: evil },
    { name: "/abs/escape.dcm", data: evil, deflate: false },
  ]);
  const before = [...Deno.readDirSync(d.path)].map((e) => e.name).sort();
  const [fromZip, ...rest] = await readDicom(zip);
  assertEquals(rest.length, 0);
  assertSameImage(fromZip.volume, sourceVolume(sp, defaultHeader()));
  assertEquals(fromZip.volume.affine, fromFolder.volume.affine);
  assertEquals(fromZip.volume.data, fromFolder.volume.data);
  assertEquals(fromZip.uid, sp.uid);
  assertEquals([...Deno.readDirSync(d.path)].map((e) => e.name).sort(), before, "nothing written beside the archive");
  assert(!haveFile(`${d.path}/../escape.dcm`));
  assertEquals((await readDicomVolume(zip)).dims, fromFolder.volume.dims);
});

Deno.test("zip input: no DICOM inside, a truncated archive, and the size ceiling are one-line errors naming it", async () => {
  await using d = await tempDir();
  const none = `${d.path}/none.zip`;
  await Deno.writeFile(none, await zipBytes([{ name: "a.txt", data: new TextEncoder().encode("x".repeat(300)) }]));
  await assertRejects(() => readDicom(none), /none\.zip: no DICOM files in the archive/);
  const dir = `${d.path}/s`;
  await Deno.mkdir(dir);
  await writeSeries(dir, spec({}));
  const zip = `${d.path}/s.zip`;
  await zipFolder(dir, zip);
  const bytes = await Deno.readFile(zip);
  const cut = `${d.path}/cut.zip`;
  await Deno.writeFile(cut, bytes.subarray(0, bytes.length - 40));
  const e = await assertRejects(() => readDicom(cut), /cut\.zip: not a readable zip archive/);
  assertEquals((e as { exitCode?: number }).exitCode, 65);
  await withEnv({ SIAMIZE_MAX_INPUT_BYTES: "4K" }, async () => {
    await assertRejects(
      () => readDicom(zip),
      /s\.zip: the archive's files inflate to \d+ bytes; the limit is 4096 bytes/,
    );
  });
});

Deno.test("one multi-frame (Enhanced MR) file is read as its volume, axial and oblique", async () => {
  await using d = await tempDir();
  for (const affine of [AXIAL, OBLIQUE]) {
    const sp = spec({ affine, modality: "MR", description: "enhanced", seriesNumber: 5 });
    const file = `${d.path}/mf`;
    await writeMultiFrame(file, sp);
    const [one, ...rest] = await readDicom(file);
    assertEquals(rest.length, 0);
    assertSameImage(one.volume, sourceVolume(sp, defaultHeader()));
    assertEquals(one.seriesNumber, 5);
  }
});

Deno.test("one single-slice DICOM file is refused, naming the file and what to give; a file that is neither is named", async () => {
  await using d = await tempDir();
  const [name] = await writeSeries(d.path, spec({ skip: [1, 2, 3, 4, 5, 6, 7, 8] }));
  await assertRejects(
    () => readDicom(`${d.path}/${name}`),
    /0\.dcm: a single-slice DICOM file: give the folder that holds its series/,
  );
  await Deno.writeTextFile(`${d.path}/notes.txt`, "x".repeat(300));
  await assertRejects(() => readDicom(`${d.path}/notes.txt`), /notes\.txt: neither a DICOM file .* nor a zip archive/);
});

Deno.test("conversions started together (a batch reading ahead) take turns on the shared instance", async () => {
  await using d = await tempDir();
  const specs = [3, 4, 5].map((n) =>
    spec({ seriesNumber: n, uid: `1.2.826.0.1.3680043.9.7777.6${n}`, stored: stored(DIMS[0] * DIMS[1] * DIMS[2], n) })
  );
  for (const [i, sp] of specs.entries()) {
    await Deno.mkdir(`${d.path}/${i}`);
    await writeSeries(`${d.path}/${i}`, sp);
  }
  const zip = `${d.path}/2.zip`;
  await zipFolder(`${d.path}/2`, zip);
  const got = await Promise.all([readDicom(`${d.path}/0`), readDicom(`${d.path}/1`), readDicom(zip)]);
  got.forEach(([one], i) => assertSameImage(one.volume, sourceVolume(specs[i], defaultHeader())));
});
