import { dirname, join, resolve } from "../../lib/core/_std.ts";
import { enterUserFolder } from "../../lib/cli/user_folder.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir } from "../_fixtures.ts";
import { taskArgs, userEnv } from "../_tasks.ts";

/** A user's folder holding a scan, a model, its card and a list, all named relatively. */
async function userFolder(path: string): Promise<void> {
  await Deno.copyFile(join(GOLDEN, "phantom.nii.gz"), join(path, "in.nii.gz"));
  await Deno.copyFile(join(GOLDEN, "analytic.onnx"), join(path, "model.onnx"));
  await Deno.copyFile(join(ROOT, "models", "testing", "analytic.json"), join(path, "card.json"));
  await Deno.mkdir(join(path, "scans"));
  await Deno.copyFile(join(GOLDEN, "phantom.nii.gz"), join(path, "scans", "b.nii.gz"));
  await Deno.writeTextFile(join(path, "list.txt"), "scans/b.nii.gz\n");
}

const RELATIVE = ["-M", "model.onnx", "--card", "card.json", "-c", "cpu", "-P", "128x128x128", "-q"];

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = await new Deno.Command(cmd, { args, cwd, clearEnv: true, env: { ...userEnv(), ...env }, stdin: "null" })
    .output();
  return { code: r.code, err: new TextDecoder().decode(r.stderr) };
}

Deno.test("`deno task siamize` from another folder reads and writes that folder (-i -o -M --card --vol --qc --report, @list)", async () => {
  await using dir = await tempDir();
  await userFolder(dir.path);
  const task = ["task", "--config", join(ROOT, "deno.json"), "siamize"];
  const one = await run(Deno.execPath(), [
    ...task,
    "-i",
    "in.nii.gz",
    "-o",
    "out/labels.nii.gz",
    "--vol",
    "vol.csv",
    "--qc",
    "qc.png",
    "--report",
    "run.json",
    ...RELATIVE,
  ], dir.path);
  assertEquals(one.code, 0, one.err);
  for (const f of ["out/labels.nii.gz", "out/labels.labels.tsv", "vol.csv", "qc.png", "run.json"]) {
    assert(Deno.statSync(join(dir.path, f)).isFile, f);
  }
  const list = await run(Deno.execPath(), [...task, "-i", "@list.txt", "-o", "batch", ...RELATIVE], dir.path);
  assertEquals(list.code, 0, list.err);
  assert(Deno.statSync(join(dir.path, "batch", "b_seg.nii.gz")).isFile);
  // Nothing landed in the checkout.
  for (const f of ["out", "batch", "vol.csv", "qc.png", "run.json"]) {
    let there = true;
    try {
      Deno.statSync(join(ROOT, f));
    } catch {
      there = false;
    }
    assert(!there, `${f} was written into the checkout`);
  }
});

Deno.test("enterUserFolder: only from the checkout root, only to an existing folder", async () => {
  await using dir = await tempDir();
  const cwd = Deno.cwd();
  try {
    Deno.chdir(dir.path);
    assertEquals(enterUserFolder(() => ROOT), undefined); // not started in the checkout: stays
    assertEquals(Deno.cwd(), dir.path);
    Deno.chdir(ROOT);
    assertEquals(enterUserFolder(() => undefined), undefined);
    assertEquals(enterUserFolder(() => join(dir.path, "missing")), undefined);
    assertEquals(Deno.cwd(), resolve(ROOT));
    assertEquals(enterUserFolder(() => dir.path), dir.path);
    assertEquals(Deno.cwd(), dir.path);
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("`deno task install` puts a `siamize` command on PATH that works from any folder", async () => {
  await using dir = await tempDir();
  const user = join(dir.path, "data");
  await Deno.mkdir(user);
  await userFolder(user);
  const installed = await run(Deno.execPath(), [...taskArgs("install"), "--root", join(dir.path, "root")], ROOT);
  assertEquals(installed.code, 0, installed.err);
  const bin = join(dir.path, "root", "bin", Deno.build.os === "windows" ? "siamize.cmd" : "siamize");
  const env = { PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}` };
  const v = await run(bin, ["--version"], user, env);
  assertEquals(v.code, 0, v.err);
  const r = await run(bin, ["-i", "in.nii.gz", "-o", "labels.nii.gz", ...RELATIVE], user, env);
  assertEquals(r.code, 0, r.err);
  assert(Deno.statSync(join(user, "labels.nii.gz")).isFile);
});
