import { join } from "../../lib/core/_std.ts";
import { loadCard } from "../../lib/cards/parse.ts";
import { segment, type Stage } from "../../lib/run/segment.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT } from "../_fixtures.ts";

Deno.test("AbortSignal: segment() stops at the next stage boundary with the signal's reason; no tile runs", async () => {
  const card = await loadCard(join(ROOT, "models", "testing", "analytic.json"));
  const stages: Stage[] = [];
  let tiles = 0;
  const ctl = new AbortController();
  let error: unknown;
  try {
    await segment(join(GOLDEN, "phantom.nii.gz"), {
      models: join(GOLDEN, "analytic.onnx"),
      card,
      compute: "cpu",
      signal: ctl.signal,
      onStage: (s) => {
        stages.push(s);
        if (s === "preprocess") ctl.abort(new Error("stop here"));
      },
      onProgress: () => tiles++,
    });
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && error.message === "stop here", String(error));
  assertEquals(stages, ["read", "load", "preprocess"]);
  assertEquals(tiles, 0);
});
