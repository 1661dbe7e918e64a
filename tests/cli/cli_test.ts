import { main } from "../../cli.ts";
import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { assert, assertEquals } from "../_assert.ts";
import { craftNifti, GOLDEN, ROOT, sha256Of, tempDir, withEnv } from "../_fixtures.ts";

const ANALYTIC = join(GOLDEN, "analytic.onnx");
const CARD = join(ROOT, "models", "testing", "analytic.json");
const PHANTOM = join(GOLDEN, "phantom.nii.gz");

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false });
  return { code, out, err };
}

function files(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("--help lists every siamize flag; --version prints the version", async () => {
  const h = await run(["--help"]);
  assertEquals(h.code, 0);
  for (
    const f of [
      "-i",
      "-o",
      "-M",
      "-c",
      "-G",
      "-t",
      "-P",
      "-u",
      "-C",
      "--tpm",
      "--tpm-t",
      "--tpm-out",
      "--no-shuffle",
      "--upsample",
      "-F",
      "--shuffle",
      "--lowmem",
      "--no-arena",
      "--step",
      "--tta",
      "--keep-sessions",
      "--release-sessions",
      "-v",
      "-q",
    ]
  ) {
    assert(h.out[0].includes(` ${f}`), `help mentions ${f}`);
  }
  const v = await run(["--version"]);
  assertEquals(v.code, 0);
  assert(/^siamize \d+\.\d+\.\d+$/.test(v.out[0]));
});

Deno.test("usage errors: exit 64, one line", async () => {
  const r = await run(["-i", "a.nii", "-o", "b.nii", "--frobnicate"]);
  assertEquals(r.code, 64);
  assertEquals(r.err, ["siamize: unknown option --frobnicate (see --help)"]);
});

Deno.test("bad input: named in one line, non-zero exit, no output file", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "labels.nii.gz");
  const missing = await run(["-i", join(dir.path, "nope.nii.gz"), "-o", out, "-M", ANALYTIC, "--card", CARD]);
  assertEquals(missing.code, 66);
  assert(/^siamize: .*nope\.nii\.gz: cannot read \(no such file/.test(missing.err[0]), missing.err[0]);
  const bad = join(dir.path, "bad.nii");
  await Deno.writeFile(bad, new TextEncoder().encode("not a nifti file at all ".repeat(30)));
  const r = await run(["-i", bad, "-o", out, "-M", ANALYTIC, "--card", CARD, "-q"]);
  assertEquals(r.code, 65);
  assertEquals(r.err.length, 1);
  assert(r.err[0].includes("bad.nii: not a NIfTI file"), r.err[0]);
  const four = join(dir.path, "four.nii");
  await Deno.writeFile(four, craftNifti({ datatype: 2, dims: [4, 4, 4, 2], values: new Array(128).fill(1) }));
  const r4 = await run(["-i", four, "-o", out, "-M", ANALYTIC, "--card", CARD, "-q"]);
  assertEquals(r4.code, 65);
  assert(r4.err[0].includes("four.nii: 4-D image with 2 volumes"), r4.err[0]);
  assertEquals(files(dir.path), ["bad.nii", "four.nii"]);
});

Deno.test("missing model: clear error naming the cache and how to stage it", async () => {
  await using dir = await tempDir();
  // A closed local port stands in for the unreachable weights host: no traffic leaves the machine.
  await withEnv(
    { SIAMIZE_CACHE_DIR: join(dir.path, "cache"), SIAMIZE_WEIGHTS_BASE_URL: "http://127.0.0.1:9/" },
    async () => {
      const r = await run(["-i", PHANTOM, "-o", join(dir.path, "l.nii.gz"), "-M", "2", "-q"]);
      assertEquals(r.code, 66);
      assert(
        /model fold_2_fp16\.onnx is not in the cache \(.*cache\/fold_2_fp16\.onnx\).*fetch-weights/.test(r.err[0]),
        r.err[0],
      );
      const p = await run(["-i", PHANTOM, "-o", join(dir.path, "l.nii.gz"), "-P", "100x64x48", "-q"]);
      assertEquals(p.code, 64);
      assert(
        /Z must be a multiple of 64, X must be a multiple of 32; nearest valid: 128x64x64/.test(p.err[0]),
        p.err[0],
      );
    },
  );
});

Deno.test("end to end through the CLI: labels on the input grid, report, and existing outputs kept", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "labels.nii.gz");
  const report = join(dir.path, "run.json");
  const r = await run([
    "-i",
    PHANTOM,
    "-o",
    out,
    "-M",
    ANALYTIC,
    "--card",
    CARD,
    "-c",
    "cpu",
    "-t",
    "2",
    "-v",
    "--report",
    report,
  ]);
  assertEquals(r.code, 0, r.err.join("\n"));
  const joined = r.err.join("\n");
  for (
    const s of [
      "crop box",
      "resampled 160x120x128",
      "provider cpu, 60 tiles",
      "threads 2, step 0.5",
      "tile adds: WebAssembly SIMD kernels on 2 thread(s)",
      "sessions: each fold's released after its tiles (one input)",
      "times: read",
    ]
  ) {
    assert(joined.includes(s), s);
  }
  const labels = await readNifti(out);
  const src = await readNifti(PHANTOM);
  assertEquals(labels.dims, src.dims);
  assertEquals(labels.header.datatype, "uint8");
  assertEquals(labels.header.intentCode, 1002);
  assertEquals([labels.header.qformCode, labels.header.sformCode], [src.header.qformCode, src.header.sformCode]);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) assert(Math.abs(labels.affine[i][j] - src.affine[i][j]) < 1e-6);
  }
  const rep = JSON.parse(await Deno.readTextFile(report));
  assertEquals(rep.provider, "cpu");
  assertEquals(rep.tiles, 60);
  assertEquals([rep.step, rep.tta], [0.5, false]);
  assertEquals(rep.adds, { kernel: "wasm-simd", threads: 2 });
  assertEquals(rep.patch, [64, 64, 48]);
  const stages = ["read", "load", "preprocess", "inference", "accumulate", "postprocess", "write"];
  for (const k of [...stages, "total"]) assert(rep.seconds[k] >= 0, k);
  // Every second inside the run is in one stage: the stages never add up to more than the total.
  const staged = stages.reduce((a, k) => a + rep.seconds[k], 0);
  assert(staged <= rep.seconds.total + 0.01, `stages ${staged} s > total ${rep.seconds.total} s`);
  assert(rep.peakRssBytes > 0);
  // The model file that ran, with its SHA-256 (WebCrypto here, node:crypto's streaming hash in the library).
  assertEquals(rep.models, [{ path: ANALYTIC, name: "analytic.onnx", sha256: await sha256Of(ANALYTIC) }]);
  // A second run refuses to overwrite; --overwrite replaces.
  const before = (await Deno.stat(out)).mtime;
  const again = await run(["-i", PHANTOM, "-o", out, "-M", ANALYTIC, "--card", CARD, "-q"]);
  assertEquals(again.code, 73);
  assert(again.err[0].includes("already exists (use --overwrite"));
  assertEquals((await Deno.stat(out)).mtime?.getTime(), before?.getTime());
  const over = await run(["-i", PHANTOM, "-o", out, "-M", ANALYTIC, "--card", CARD, "-q", "--overwrite"]);
  assertEquals(over.code, 0);
  assertEquals(files(dir.path), ["labels.labels.tsv", "labels.nii.gz", "run.json"]);
});

Deno.test("the real process: exit codes and stderr of `deno run cli.ts`", async () => {
  const deno = Deno.execPath();
  const r = await new Deno.Command(deno, {
    args: ["run", "-A", join(ROOT, "cli.ts"), "--nope"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(r.code, 64);
  assertEquals(new TextDecoder().decode(r.stderr).trim(), "siamize: unknown option --nope (see --help)");
});

Deno.test("a BraTS folder: a subject missing a channel is reported and counted as skipped in the summary", async () => {
  const { makeModel } = await import("../../scripts/builders/make_model.ts");
  const { writeNifti } = await import("../../lib/io/nifti.ts");
  const { makeVolume } = await import("../../lib/io/volume.ts");
  await using dir = await tempDir();
  const scans = join(dir.path, "brats");
  await Deno.mkdir(scans);
  const model = join(dir.path, "hnoseg.onnx");
  await makeModel("hnoseg-xs", model, false, 3);
  const dims = [12, 10, 8];
  const d = new Float32Array(12 * 10 * 8).map((_, i) => 100 + (i % 13));
  const affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  for (const c of ["t1c", "t1n", "t2f", "t2w"]) {
    await writeNifti(join(scans, `sub-01_${c}.nii.gz`), makeVolume(d, dims, affine));
  }
  for (const c of ["t1c", "t1n"]) await writeNifti(join(scans, `sub-02_${c}.nii.gz`), makeVolume(d, dims, affine));
  const out = join(dir.path, "out");
  const r = await run(["--card", "hnoseg-xs-brats", "-i", scans, "-o", out, "-M", model, "-c", "cpu"]);
  assertEquals(r.code, 0, r.err.join("\n"));
  assert(r.err.some((l) => l.includes("skipped") && l.includes("sub-02") && l.includes("t2f, t2w")), r.err.join("\n"));
  assertEquals(r.err.at(-1), "siamize: 1 done, 1 skipped, 0 failed");
  assertEquals(files(out), ["sub-01_seg.nii.gz", "sub-01_seg.labels.tsv"].sort());
});
