import { join } from "../../lib/core/_std.ts";
import { benchNetworks, monaiTilesPerAxis } from "../../scripts/bench/bench_networks.ts";
import { buildHNOSeg, HNOSEG_XS } from "../../scripts/builders/hnoseg_builder.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, tempDir } from "../_fixtures.ts";

Deno.test("MONAI tile count per axis agrees with the golden CT case's tile starts", async () => {
  const facts = JSON.parse(await Deno.readTextFile(join(GOLDEN, "monai", "ct_small.json")));
  const n = (facts.spacing_shape as number[]).reduce((a, s) => a * monaiTilesPerAxis(s), 1);
  assertEquals(n, facts.tile_starts.length);
  assertEquals([96, 97, 168, 169, 240].map((s) => monaiTilesPerAxis(s)), [1, 2, 2, 3, 3]);
});

Deno.test("benchNetworks runs a case in a child process and reports one table row", async () => {
  await using dir = await tempDir();
  const model = join(dir.path, "hnoseg.onnx");
  await Deno.writeFile(model, buildHNOSeg({ ...HNOSEG_XS, seed: 1 }).bytes);
  assertEquals(await benchNetworks({ cases: ["tiny"], runs: 1, threads: 1, model: () => Promise.resolve(model) }), []);
  const lines = await benchNetworks({
    cases: ["hnoseg-brats"],
    runs: 1,
    threads: 1,
    model: () => Promise.resolve(model),
  });
  assertEquals(lines.length, 4);
  assert(lines[3].startsWith("| hnoseg-brats | 4x155x240x240 | 1 |"), lines[3]);
});
