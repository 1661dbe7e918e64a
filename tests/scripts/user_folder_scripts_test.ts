import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir } from "../_fixtures.ts";

function withoutInitCwd(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.INIT_CWD;
  return env;
}

/** `deno task --config <checkout>/deno.json make-model …` typed in `cwd`, as README says. */
function makeModel(cwd: string, args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "--config", join(ROOT, "deno.json"), "make-model", ...args],
    cwd,
    // As typed in a shell: no INIT_CWD inherited (npx, npm and deno task set it), so deno task sets it to cwd.
    clearEnv: true,
    env: { ...withoutInitCwd(), NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("make-model from the user's folder: -o means that folder; an existing file is kept (73) unless --overwrite", async () => {
  await using dir = await tempDir();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const first = await makeModel(dir.path, ["--preset", "tiny", "-o", "tiny.onnx"]);
  assertEquals(first.code, 0, text(first.stderr));
  const made = join(dir.path, "tiny.onnx");
  const before = await Deno.stat(made);
  assert(before.size > 1000, `${before.size} bytes`);
  let inCheckout = true;
  try {
    await Deno.stat(join(ROOT, "tiny.onnx"));
  } catch {
    inCheckout = false;
  }
  assert(!inCheckout, "wrote into the checkout");
  const again = await makeModel(dir.path, ["--preset", "tiny", "--seed", "2", "-o", "tiny.onnx"]);
  const err = text(again.stderr).trim().split("\n").at(-1)!;
  assertEquals(again.code, 73, err);
  assertEquals(err, "make-model: tiny.onnx: already exists (use --overwrite to replace it)");
  assertEquals((await Deno.readFile(made)).length, before.size);
  const unchanged = await Deno.stat(made);
  assertEquals(unchanged.mtime?.getTime(), before.mtime?.getTime());
  const over = await makeModel(dir.path, ["--preset", "tiny", "--seed", "2", "-o", "tiny.onnx", "--overwrite"]);
  assertEquals(over.code, 0, text(over.stderr));
  assert((await Deno.stat(made)).mtime!.getTime() >= before.mtime!.getTime());
});

Deno.test("regress from the user's folder: --input, --reference, -M and --card are relative to that folder", async () => {
  await using dir = await tempDir();
  await Deno.copyFile(join(GOLDEN, "phantom.nii.gz"), join(dir.path, "T1.nii.gz"));
  await Deno.copyFile(join(GOLDEN, "phantom_labels_p64x64x48.nii.gz"), join(dir.path, "ref.nii.gz"));
  await Deno.copyFile(join(GOLDEN, "analytic.onnx"), join(dir.path, "m.onnx"));
  await Deno.copyFile(join(ROOT, "models", "testing", "analytic.json"), join(dir.path, "card.json"));
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--config", join(ROOT, "deno.json"), "regress", "--input", "T1.nii.gz", "--reference", "ref.nii.gz"]
      .concat(["-M", "m.onnx", "--card", "card.json", "-P", "64x64x48"]),
    cwd: dir.path,
    clearEnv: true,
    env: { ...withoutInitCwd(), NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  assert(out.includes("input T1.nii.gz") && out.includes("reference ref.nii.gz"), out);
  assert(/voxel agreement (99\.9\d*|100\.0+)%/.test(out), out);
});
