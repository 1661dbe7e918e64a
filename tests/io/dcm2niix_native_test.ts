import { nativeScratchRoot, WASM_LIMIT_ENV, wasmInputLimit } from "../../lib/io/dcm2niix_native.ts";
import { readDicom } from "../../lib/io/dicom.ts";
import { encodeNifti } from "../../lib/io/nifti.ts";
import { defaultHeader } from "../../lib/io/volume.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { haveFile, tempDir, withEnv } from "../_fixtures.ts";
import { assertSameImage, type SeriesSpec, sourceVolume, writeSeries } from "./_dicom_writer.ts";
import { zipFolder } from "./_zip_writer.ts";

const DIMS = [6, 5, 4];
const SPEC: SeriesSpec = {
  stored: Int16Array.from({ length: 6 * 5 * 4 }, (_, i) => (i * 53) % 997 - 400),
  dims: DIMS,
  affine: [[-1, 0, 0, 3], [0, 1.2, 0, -2], [0, 0, 2, 1], [0, 0, 0, 1]],
  slope: 1,
  intercept: 0,
  seriesNumber: 8,
  description: "big",
  uid: "1.2.826.0.1.3680043.9.7777.88",
};

/**
 * A stand-in `dcm2niix` (a shell script) in `bin/`: it records its
 * arguments and how many files its input folder holds, and writes canned
 * raw NIfTI + JSON (the source volume) into its `-o` folder, with the log
 * line the real one writes.
 */
async function fakeDcm2niix(root: string, warning = ""): Promise<{ bin: string; args: string; count: string }> {
  const bin = `${root}/bin`, canned = `${root}/canned`;
  await Deno.mkdir(bin);
  await Deno.mkdir(canned);
  const vol = sourceVolume(SPEC, defaultHeader());
  await Deno.writeFile(`${canned}/s8_big.nii`, encodeNifti(vol, { datatype: "float32" }));
  await Deno.writeTextFile(
    `${canned}/s8_big.json`,
    JSON.stringify({
      SeriesNumber: 8,
      SeriesDescription: "big",
      SeriesInstanceUID: SPEC.uid,
      ConversionSoftware: "dcm2niix",
      ConversionSoftwareVersion: "v1.0.native",
    }),
  );
  const args = `${root}/args`, count = `${root}/count`;
  await Deno.writeTextFile(
    `${bin}/dcm2niix`,
    `#!/bin/sh
[ "$1" = "--version" ] && { echo "dcm2niiX version v1.0.native"; exit 0; }
prev=""; out=""; last=""
for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; last="$a"; done
echo "$@" > '${args}'
ls "$last" | wc -l | tr -d ' ' > '${count}'
cp '${canned}'/* "$out"/
${warning ? `echo "Warning: ${warning}"` : ""}
echo "Convert 4 DICOM as $out/s8_big (6x5x4x1)"
`,
  );
  await Deno.chmod(`${bin}/dcm2niix`, 0o755);
  return { bin, args, count };
}

Deno.test("above the WASM limit, a native dcm2niix on PATH converts into the cache's tmp/, removed after", async () => {
  await using d = await tempDir();
  const dir = `${d.path}/series`;
  await Deno.mkdir(dir);
  await writeSeries(dir, SPEC);
  const zip = `${d.path}/series.zip`;
  await zipFolder(dir, zip);
  const fake = await fakeDcm2niix(d.path);
  const cache = `${d.path}/cache`;
  const env = { PATH: `${fake.bin}:${Deno.env.get("PATH")}`, SIAMIZE_CACHE_DIR: cache, [WASM_LIMIT_ENV]: "1K" };
  await withEnv(env, async () => {
    assertEquals(wasmInputLimit(), 1024);
    assertEquals(nativeScratchRoot(), `${cache}/tmp`);
    const lines: string[] = [];
    const [one, ...rest] = await readDicom(dir, { log: (l) => lines.push(l) });
    assertEquals(rest.length, 0);
    assertSameImage(one.volume, sourceVolume(SPEC, defaultHeader()));
    assertEquals(one.converter, "dcm2niix v1.0.native");
    assertEquals(one.uid, SPEC.uid);
    assert(lines.some((l) => l.startsWith("Convert 4 DICOM as ")), lines.join("\n"));
    const args = (await Deno.readTextFile(fake.args)).trim().split(" ");
    assertEquals(args.slice(0, 8), ["-b", "y", "-ba", "n", "-z", "n", "-f", "s%s_%j"]);
    assertEquals(args.at(-1), dir, "a folder is given as it is");
    assert(args[9].startsWith(`${cache}/tmp/dicom-`), args[9]);
    assertEquals([...Deno.readDirSync(`${cache}/tmp`)], [], "the scratch folder is removed");
    // a zip: its DICOM entries are written under the scratch folder by index, then removed
    const [z] = await readDicom(zip);
    assertSameImage(z.volume, sourceVolume(SPEC, defaultHeader()));
    assertEquals(await Deno.readTextFile(fake.count), `${DIMS[2]}\n`);
    assert((await Deno.readTextFile(fake.args)).trim().split(" ").at(-1)!.startsWith(`${cache}/tmp/dicom-`));
    assertEquals([...Deno.readDirSync(`${cache}/tmp`)], []);
  });
});

Deno.test("above the WASM limit with no native dcm2niix: one line naming the size, the limit and what to do", async () => {
  await using d = await tempDir();
  await writeSeries(d.path, SPEC);
  await Deno.mkdir(`${d.path}/empty-bin`);
  const env = { PATH: `${d.path}/empty-bin`, SIAMIZE_CACHE_DIR: `${d.path}/cache`, [WASM_LIMIT_ENV]: "1K" };
  await withEnv(env, async () => {
    const e = await assertRejects(
      () => readDicom(d.path),
      /: DICOM files sum to \d+ bytes, more than the 1024 bytes dcm2niix's WASM build holds \(its heap is 2\.0 GiB\), and no dcm2niix on PATH: install dcm2niix, or convert the series with it and give the NIfTI$/,
    );
    assertEquals((e as { exitCode?: number }).exitCode, 65);
  });
  assertEquals(wasmInputLimit(), 1024 ** 3, "without the test variable: half of the 2 GiB heap");
});

Deno.test("above the WASM limit in a process that may not run programs: the line says how to grant it", async () => {
  await using d = await tempDir();
  await Deno.mkdir(`${d.path}/s`);
  await writeSeries(`${d.path}/s`, SPEC);
  const fake = await fakeDcm2niix(d.path); // on PATH, but not allowed to run
  const script = `${d.path}/read.ts`;
  await Deno.writeTextFile(
    script,
    `import { readDicom } from ${JSON.stringify(new URL("../../lib/io/dicom.ts", import.meta.url).href)};\n` +
      `try { await readDicom(${JSON.stringify(`${d.path}/s`)}); } catch (e) { console.log((e as Error).message); }\n`,
  );
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", script],
    env: { PATH: `${fake.bin}:${Deno.env.get("PATH")}`, SIAMIZE_CACHE_DIR: `${d.path}/cache`, [WASM_LIMIT_ENV]: "1K" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assert(
    out.includes("and this process may not run a native dcm2niix (`deno task install` grants one found on PATH"),
    out + new TextDecoder().decode(r.stderr),
  );
  assert(!haveFile(fake.args), "the stand-in never ran");
});

Deno.test("the native route keeps the geometry guard: its warnings are matched to the series, the slices named", async () => {
  await using d = await tempDir();
  await Deno.mkdir(`${d.path}/s`);
  await writeSeries(`${d.path}/s`, { ...SPEC, skip: [2] });
  const fake = await fakeDcm2niix(d.path, "Interslice distance varies in this volume");
  const env = {
    PATH: `${fake.bin}:${Deno.env.get("PATH")}`,
    SIAMIZE_CACHE_DIR: `${d.path}/cache`,
    [WASM_LIMIT_ENV]: "1K",
  };
  await withEnv(env, async () => {
    // SPEC: slice k at z = 2 k + 1 mm, instance k + 1; slice 2 (instance 3) left out
    await assertRejects(
      () => readDicom(`${d.path}/s`),
      /series 8 "big": slices are not one regular grid: missing slice between instance 2 and 4 \(z = 3\.0 → 7\.0 mm\) \(dcm2niix: Interslice distance varies in this volume\)$/,
    );
  });
  assertEquals([...Deno.readDirSync(`${d.path}/cache/tmp`)], [], "the scratch folder is removed after a refusal too");
});
