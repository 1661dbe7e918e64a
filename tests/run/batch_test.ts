import { join } from "../../lib/core/_std.ts";
import {
  batchOutput,
  isValidOutput,
  listInputs,
  parseShard,
  runBatch,
  slurmShard,
  stemOf,
  summaryLine,
  takeShard,
} from "../../lib/run/batch.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { GOLDEN, ROOT, runCli, tempDir, writeHead } from "../_fixtures.ts";

const ANALYTIC = join(GOLDEN, "analytic.onnx");
const CARD = join(ROOT, "models", "testing", "analytic.json");
const FAST = ["-M", ANALYTIC, "--card", CARD, "-P", "64x64x48", "-c", "cpu"];

Deno.test("inputs: a folder (sorted scans only) or an @list (relative to the list, comments skipped)", async () => {
  await using dir = await tempDir();
  for (const n of ["b.nii.gz", "a.nii", "c.jnii", "notes.txt", ".hidden.nii"]) {
    await Deno.writeTextFile(join(dir.path, n), "x");
  }
  assertEquals((await listInputs(dir.path)).map((p) => p.slice(dir.path.length + 1)), ["a.nii", "b.nii.gz", "c.jnii"]);
  await Deno.writeTextFile(join(dir.path, "list.txt"), "# scans\na.nii\n\n/abs/x.nii.gz\n");
  assertEquals(await listInputs(`@${join(dir.path, "list.txt")}`), [join(dir.path, "a.nii"), "/abs/x.nii.gz"]);
  await Deno.mkdir(join(dir.path, "empty"));
  await assertRejects(() => listInputs(join(dir.path, "empty")), /empty: no \.nii/);
  await assertRejects(() => listInputs("@" + join(dir.path, "nope.txt")), /nope\.txt: cannot read the input list/);
});

Deno.test("shards partition the inputs deterministically; SLURM variables map to shards", () => {
  const items = Array.from({ length: 11 }, (_, i) => `s${i}`);
  for (const n of [1, 2, 3, 5]) {
    const parts = Array.from({ length: n }, (_, i) => takeShard(items, { index: i + 1, count: n }));
    assertEquals(parts.flat().sort(), [...items].sort());
    assertEquals(new Set(parts.flat()).size, items.length);
  }
  assertEquals(takeShard(items, parseShard("2/3")), ["s1", "s4", "s7", "s10"]);
  assertThrows(() => parseShard("3/2"), /--shard needs i\/n/);
  assertThrows(() => parseShard("0/2"), /--shard needs i\/n/);
  const env = (m: Record<string, string>) => (k: string) => m[k];
  assertEquals(slurmShard(env({ SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "4" })), { index: 1, count: 4 });
  assertEquals(slurmShard(env({ SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "1" })), {
    index: 4,
    count: 4,
  });
  assertEquals(slurmShard(env({})), undefined);
  assertThrows(() => slurmShard(env({ SLURM_ARRAY_TASK_ID: "9", SLURM_ARRAY_TASK_COUNT: "4" })), /does not fit/);
});

Deno.test("output names and the skip / continue logic of a batch", async () => {
  await using dir = await tempDir();
  assertEquals(stemOf("/x/sub-01_T1w.nii.gz"), "sub-01_T1w");
  assertEquals(batchOutput("/x/a.bnii", "/o"), "/o/a_seg.nii.gz");
  assertEquals(batchOutput("/x/a.nii", "/o", "jnii"), "/o/a_seg.jnii");
  const good = join(dir.path, "done.nii.gz");
  await writeHead(good);
  await Deno.writeTextFile(join(dir.path, "half.nii.gz"), "garbage");
  assert(await isValidOutput(good));
  assert(!await isValidOutput(join(dir.path, "half.nii.gz")));
  const seen: string[] = [], prefetched: string[] = [];
  const s = await runBatch([
    { input: "a", output: good },
    { input: "b", output: join(dir.path, "half.nii.gz") },
    { input: "c", output: join(dir.path, "c.nii.gz") },
  ], (job) => {
    seen.push(job.input);
    return job.input === "b" ? Promise.reject(new Error("b is broken")) : Promise.resolve();
  }, { prefetch: (job) => prefetched.push(job.input) });
  assertEquals(seen, ["b", "c"]);
  assertEquals(prefetched, ["c"]); // the next job that will run, read ahead while "b" runs
  assertEquals(summaryLine(s), "1 done, 1 skipped, 1 failed");
  assertEquals(s.failed, [{ input: "b", error: "b is broken" }]);
  // A job asked for several outputs is done only when every one is there and valid (JSON sidecars parse).
  const side = join(dir.path, "done.json");
  const ran: string[] = [];
  const several = (outputs: string[]) => ({ input: outputs.join("+"), output: good, outputs });
  const run = () =>
    runBatch([several([good]), several([good, side])], (job) => {
      ran.push(job.input);
      return Promise.resolve();
    });
  assertEquals(summaryLine(await run()), "1 done, 1 skipped, 0 failed");
  await Deno.writeTextFile(side, "{ half");
  assert(!await isValidOutput(side));
  await run();
  await Deno.writeTextFile(side, '{"Sources": []}');
  assert(await isValidOutput(side));
  assertEquals(summaryLine(await run()), "0 done, 2 skipped, 0 failed");
  assertEquals(ran, [`${good}+${side}`, `${good}+${side}`]);
});

Deno.test("folder mode: one segmenter, bad input fails alone, rerun skips, shards split the work", async () => {
  await using dir = await tempDir();
  const inp = join(dir.path, "in"), out = join(dir.path, "out");
  await Deno.mkdir(inp);
  await writeHead(join(inp, "a.nii.gz"), 1);
  await writeHead(join(inp, "b.nii"), 2);
  await Deno.writeTextFile(join(inp, "c.nii.gz"), "not gzip at all");
  const r1 = await runCli(["-i", inp, "-o", out, ...FAST, "-q"]);
  assertEquals(r1.code, 1);
  assert(r1.err.some((l) => /c\.nii\.gz: not a NIfTI file/.test(l)), r1.err.join("\n"));
  assertEquals(r1.err[r1.err.length - 1], "siamize: 2 done, 0 skipped, 1 failed");
  const names = () => [...Deno.readDirSync(out)].map((e) => e.name).sort();
  assertEquals(names(), ["a_seg.labels.tsv", "a_seg.nii.gz", "b_seg.labels.tsv", "b_seg.nii.gz"]);
  const r2 = await runCli(["-i", inp, "-o", out, ...FAST]);
  assertEquals(r2.code, 1);
  assertEquals(r2.err[r2.err.length - 1], "siamize: 0 done, 2 skipped, 1 failed");
  // Shards of a list: 1/2 and 2/2 together do every input once. With --tpm a batch writes labels and <stem>_tpm.
  await Deno.remove(join(inp, "c.nii.gz"));
  await writeHead(join(inp, "c.nii.gz"), 3);
  for (const s of ["1/2", "2/2"]) {
    const o = join(dir.path, `shard${s[0]}`);
    const r = await runCli(["-i", inp, "-o", o, ...FAST, "--shard", s, "-q", ...(s === "1/2" ? ["--tpm"] : [])]);
    assertEquals(r.code, 0, r.err.join("\n"));
  }
  const s1 = [...Deno.readDirSync(join(dir.path, "shard1"))].map((e) => e.name).filter((n) => n.endsWith(".nii.gz"))
    .sort();
  const s2 = [...Deno.readDirSync(join(dir.path, "shard2"))].map((e) => e.name).filter((n) => n.endsWith(".nii.gz"))
    .sort();
  assertEquals(s1, ["a_seg.nii.gz", "a_seg_tpm.nii.gz", "c_seg.nii.gz", "c_seg_tpm.nii.gz"]);
  assertEquals((await readNifti(join(dir.path, "shard1", "a_seg.nii.gz"))).dims.length, 3);
  assertEquals((await readNifti(join(dir.path, "shard1", "a_seg_tpm.nii.gz"), { allow4D: true })).dims.length, 4);
  assertEquals(s2, ["b_seg.nii.gz"]);
});

Deno.test("SIGTERM mid-run: exit 143, no partial output, no temp files", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "labels.nii.gz");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "cli.ts"),
      "-i",
      join(GOLDEN, "phantom.nii.gz"),
      "-o",
      out,
      "-M",
      ANALYTIC,
      "--card",
      CARD,
      "-P",
      "32x32x16",
      "-c",
      "cpu",
      "-v",
      "--tpm",
    ],
    stderr: "piped",
    stdout: "null",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/tile \d+\/\d+/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  child.kill("SIGTERM");
  const status = await child.status;
  reader.releaseLock();
  await child.stderr.cancel().catch(() => {});
  assertEquals(status.code, 143, seen);
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), []);
});
