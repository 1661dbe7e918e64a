import { join } from "../../lib/core/_std.ts";
import { tempPathFor } from "../../lib/core/fsutil.ts";
import { STALE_TEMP_MS } from "../../lib/core/staged.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, runCli, tempDir, writeHead } from "../_fixtures.ts";

const FAST = ["-M", join(GOLDEN, "analytic.onnx"), "--card", join(ROOT, "models", "testing", "analytic.json"), "-q"];
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("outputs: two concurrent runs onto one -o: exactly one writes, the other exits 73", async () => {
  await using dir = await tempDir();
  const inp = join(dir.path, "t1.nii");
  await writeHead(inp);
  const out = join(dir.path, "out", "labels.nii.gz");
  const runs = await Promise.all([1, 2].map(() => runCli(["-i", inp, "-o", out, ...FAST])));
  assertEquals(runs.map((r) => r.code).sort(), [0, 73], runs.map((r) => r.err.join(" | ")).join(" || "));
  const loser = runs.find((r) => r.code === 73)!;
  assertEquals(loser.err.length, 1);
  assert(/labels\.nii\.gz: (already exists|appeared while this run was working)/.test(loser.err[0]), loser.err[0]);
  assertEquals(names(join(dir.path, "out")), ["labels.labels.tsv", "labels.nii.gz"]);
});

Deno.test("outputs: --vol onto a bad table and --overwrite onto a folder fail before any work, leaving nothing", async () => {
  await using dir = await tempDir();
  const inp = join(dir.path, "t1.nii");
  await writeHead(inp);
  const bad = join(dir.path, "bad.json"), other = join(dir.path, "other.csv");
  Deno.writeTextFileSync(bad, "{ not json");
  Deno.writeTextFileSync(other, "subject,volume\ns1,3\n");
  const before = names(dir.path);
  for (
    const [table, pattern] of [[bad, /bad\.json: existing volumes table is not valid JSON/], [
      other,
      /other\.csv: existing volumes table has other columns \(subject,volume\)/,
    ]] as const
  ) {
    const r = await runCli(["-i", inp, "-o", join(dir.path, "new", "l.nii.gz"), "--vol", table, ...FAST]);
    assertEquals(r.code, 65, r.err.join(" | "));
    assert(pattern.test(r.err[0]), r.err[0]);
  }
  // The same in a batch: refused before the first scan.
  const scans = join(dir.path, "scans");
  Deno.mkdirSync(scans);
  await writeHead(join(scans, "s1.nii"));
  const b = await runCli(["-i", scans, "-o", join(dir.path, "bout"), "--vol", other, ...FAST]);
  assertEquals(b.code, 65, b.err.join(" | "));
  assert(/other\.csv: existing volumes table has other columns/.test(b.err[0]), b.err[0]);
  Deno.removeSync(scans, { recursive: true });
  assertEquals(names(dir.path), before, "no labels written, the created folders removed, the tables untouched");
  assertEquals(Deno.readTextFileSync(other), "subject,volume\ns1,3\n");
  Deno.mkdirSync(join(dir.path, "taken.nii.gz"));
  const f = await runCli(["-i", inp, "-o", join(dir.path, "taken.nii.gz"), "--overwrite", ...FAST]);
  assertEquals(f.code, 73);
  assert(/taken\.nii\.gz: is a folder/.test(f.err[0]), f.err[0]);
  // A run that fails on its input removes the output folders it created.
  const corrupt = join(dir.path, "corrupt.nii.gz");
  Deno.writeFileSync(corrupt, new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
  const c = await runCli(["-i", corrupt, "-o", join(dir.path, "made", "deep", "l.nii.gz"), ...FAST]);
  assertEquals(c.code, 65);
  assert(!names(dir.path).includes("made"), "created folders removed");
});

Deno.test("outputs: a batch folder with a.nii and a.nii.gz is refused before work; stale temps of killed runs are removed", async () => {
  await using dir = await tempDir();
  const scans = join(dir.path, "scans"), out = join(dir.path, "labels");
  Deno.mkdirSync(scans);
  await writeHead(join(scans, "a.nii"));
  Deno.writeFileSync(join(scans, "a.nii.gz"), Deno.readFileSync(join(scans, "a.nii")));
  const r = await runCli(["-i", scans, "-o", out, ...FAST]);
  assertEquals(r.code, 65, r.err.join(" | "));
  assert(/a\.nii and .*a\.nii\.gz would both write .*a_seg\.nii\.gz/.test(r.err[0]), r.err[0]);
  assert(!names(dir.path).includes("labels"), "nothing created");
  // SIGKILL while writing leaves a temp; the next run onto that folder removes it (when older than an hour).
  Deno.removeSync(join(scans, "a.nii.gz"));
  Deno.mkdirSync(out);
  const stale = tempPathFor(join(out, "a_seg.nii.gz"));
  Deno.writeTextFileSync(stale, "half");
  const past = new Date(Date.now() - STALE_TEMP_MS - 1000);
  Deno.utimeSync(stale, past, past);
  const ok = await runCli(["-i", scans, "-o", out, ...FAST]);
  assertEquals(ok.code, 0, ok.err.join(" | "));
  assertEquals(names(out), ["a_seg.labels.tsv", "a_seg.nii.gz"]);
});
