import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, runCli, tempDir } from "../_fixtures.ts";

const ARGS = [
  "-i",
  join(GOLDEN, "phantom.nii.gz"),
  "-M",
  join(GOLDEN, "analytic.onnx"),
  "--card",
  join(ROOT, "models", "testing", "analytic.json"),
  "-P",
  "128x128x128",
  "-c",
  "auto",
];

Deno.test("-v prints each stage as it starts, in order; without -v, -c auto that falls back to the CPU prints nothing", async () => {
  await using dir = await tempDir();
  const quiet = await runCli([...ARGS, "-o", join(dir.path, "a.nii.gz")]);
  assertEquals(quiet.code, 0, quiet.err.join("\n"));
  // Without -v, auto's fallback past no GPU or a software adapter (Mesa's lavapipe here) is not said:
  // the result line is all there is.
  assertEquals(quiet.err.length, 1, quiet.err.join("\n"));
  assert(/ wrote .*a\.nii\.gz/.test(quiet.err[0]), quiet.err[0]);
  const v = await runCli([...ARGS, "-o", join(dir.path, "b.nii.gz"), "-v"]);
  assertEquals(v.code, 0, v.err.join("\n"));
  const stages = ["reading the input", "loading the model", "preprocessing", "inference", "postprocessing", "writing"];
  const at = stages.map((s) => v.err.findIndex((l) => new RegExp(`Z ${s}`).test(l)));
  assert(at.every((k) => k >= 0), `missing stage lines:\n${v.err.join("\n")}`);
  assertEquals([...at].sort((a, b) => a - b), at);
  const crop = v.err.findIndex((l) => l.includes("crop box"));
  assert(crop > at[4], "results come after the stages that produced them");
  // This machine may or may not have a GPU provider: when auto fell back, -v says why.
  const provider = v.err.find((l) => l.includes("provider "))!;
  if (provider.includes("provider cpu")) assert(v.err.some((l) => l.includes("using CPU (")), v.err.join("\n"));
});
