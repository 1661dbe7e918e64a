import { join } from "../../lib/core/_std.ts";
import { ensureWritableFolder } from "../../lib/run/preflight.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, runCli, tempDir } from "../_fixtures.ts";

const ANALYTIC = join(GOLDEN, "analytic.onnx");
const CARD = join(ROOT, "models", "testing", "analytic.json");
const PHANTOM = join(GOLDEN, "phantom.nii.gz");

/** A folder nobody can create files in, root included: chmod 555 for others, /proc for root. */
async function readOnlyFolder(base: string): Promise<string | undefined> {
  const dir = join(base, "ro");
  await Deno.mkdir(dir);
  await Deno.chmod(dir, 0o555);
  try {
    await Deno.writeFile(join(dir, "probe"), new Uint8Array(1));
    await Deno.remove(join(dir, "probe"));
  } catch {
    return dir; // mode bits hold (not root)
  }
  // Root ignores mode bits; /proc accepts no new files from anyone.
  return Deno.build.os === "linux" ? "/proc" : undefined;
}

Deno.test("a read-only output folder: exit 73 naming it, before any model is read or inference starts", async (t) => {
  await using dir = await tempDir();
  const ro = await readOnlyFolder(dir.path);
  try {
    if (!ro) {
      await t.step({
        name: "skipped: no read-only folder can be made here (root without /proc)",
        ignore: true,
        fn: () => {},
      });
      return;
    }
    // The model does not exist: had the models been looked at first, this would be 66.
    const r = await runCli(["-i", PHANTOM, "-o", join(ro, "labels.nii.gz"), "-M", join(dir.path, "none.onnx")]);
    assertEquals(r.code, 73, r.err.join("\n"));
    assertEquals(r.err.length, 1);
    assert(r.err[0].includes(`the folder ${ro} `), r.err[0]);
    // With a real model and -v: no stage has started.
    const v = await runCli(["-i", PHANTOM, "-o", join(ro, "l.nii.gz"), "-M", ANALYTIC, "--card", CARD, "-v"]);
    assertEquals(v.code, 73);
    assert(!v.err.some((l) => /reading the input|loading the model|inference/.test(l)), v.err.join("\n"));
    // The same for the side outputs.
    for (const flag of ["--vol", "--qc", "--report"]) {
      const name = flag === "--qc" ? "qc.png" : flag === "--vol" ? "v.csv" : "run.json";
      const s = await runCli([
        "-i",
        PHANTOM,
        "-o",
        join(dir.path, "l.nii.gz"),
        "-M",
        join(dir.path, "none.onnx"),
        flag,
        join(ro, name),
      ]);
      assertEquals(s.code, 73, `${flag}: ${s.err.join("\n")}`);
    }
  } finally {
    if (ro?.startsWith(dir.path)) await Deno.chmod(ro, 0o755);
  }
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), ["ro"]);
  assertEquals([...Deno.readDirSync(join(dir.path, "ro"))], []);
});

Deno.test("ensureWritableFolder: creates a missing folder, refuses a file", async () => {
  await using dir = await tempDir();
  const sub = join(dir.path, "a", "b");
  await ensureWritableFolder(sub, "-o x");
  assert(Deno.statSync(sub).isDirectory);
  assertEquals([...Deno.readDirSync(sub)], []); // the probe is gone
  const file = join(dir.path, "f");
  await Deno.writeFile(file, new Uint8Array(1));
  let msg = "";
  try {
    await ensureWritableFolder(file, "-o f/x.nii");
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, `-o f/x.nii: ${file} is not a folder`);
});

Deno.test("format and extension must agree: -F jnii -o labels.nii.gz is a usage error, nothing written", async () => {
  await using dir = await tempDir();
  const r = await runCli(["-i", PHANTOM, "-o", join(dir.path, "labels.nii.gz"), "-F", "jnii", "-M", ANALYTIC]);
  assertEquals(r.code, 64);
  assert(r.err[0].includes("-F jnii does not match the output"), r.err[0]);
  assertEquals([...Deno.readDirSync(dir.path)], []);
});

Deno.test("batch mistakes are named: a missing input folder, a file as the output of a folder", async () => {
  await using dir = await tempDir();
  const missing = await runCli(["-i", join(dir.path, "scans"), "-o", join(dir.path, "out")]);
  assertEquals(missing.code, 66);
  assertEquals(missing.err, [`siamize: -i ${join(dir.path, "scans")}: no such file or folder`]);
  const inputs = join(dir.path, "in");
  await Deno.mkdir(inputs);
  await Deno.copyFile(PHANTOM, join(inputs, "a.nii.gz"));
  const single = await runCli(["-i", inputs, "-o", join(dir.path, "single.nii.gz")]);
  assertEquals(single.code, 64);
  assert(single.err[0].includes("-o must name an output folder, not the file"), single.err[0]);
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), ["in"]);
});

Deno.test("single file: a missing output folder is created, like a batch's", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "new", "sub", "labels.nii.gz");
  const r = await runCli([
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
    "-q",
    "-P",
    "128x128x128",
  ]);
  assertEquals(r.code, 0, r.err.join("\n"));
  assert(Deno.statSync(out).isFile);
});
