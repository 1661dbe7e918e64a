import * as ort from "onnxruntime-node";
import { join } from "../../lib/core/_std.ts";
import { rewriteForProvider } from "../../lib/engine/passes/rewrites.ts";
import { analytic64, analyticParams } from "../../scripts/builders/analytic64.ts";
import { compareLabels } from "../../scripts/regress.ts";
import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";
import { instanceNormModel } from "../_models.ts";
import { quietRuntime } from "../../lib/engine/ort.ts";

quietRuntime(); // no ONNX Runtime telemetry files in the temp folder

Deno.test("regress: voxel agreement and per-class Dice", () => {
  const a = [0, 0, 1, 1, 2, 2, 2, 0];
  const b = [0, 0, 1, 2, 2, 2, 1, 0];
  const { agreement, dice } = compareLabels(a, b, 4);
  assertEquals(agreement, 6 / 8);
  assertClose(dice.slice(0, 3), [1, 2 * 1 / (2 + 2), 2 * 2 / (3 + 3)], 1e-12);
  assertEquals(Number.isNaN(dice[3]), true);
  assertThrows(() => compareLabels([1], [1, 2], 3), /differ in size/);
});

Deno.test("regress: the float64 stand-in agrees with ONNX Runtime on analytic.onnx (rewritten) and rejects other graphs", async () => {
  const bytes = await Deno.readFile(join(GOLDEN, "analytic.onnx"));
  const shape: [number, number, number] = [20, 24, 16];
  const n = shape[0] * shape[1] * shape[2];
  const tile = Float32Array.from({ length: n }, (_, i) => 0.4 + Math.sin(i / 7) + 0.3 * Math.cos(i / 131));
  const ref = analytic64(analyticParams(bytes), tile, shape);
  const s = await ort.InferenceSession.create(rewriteForProvider(bytes, "cpu").bytes);
  const y = (await s.run({ x: new ort.Tensor("float32", tile, [1, 1, ...shape]) })).logits.data as Float32Array;
  await s.release();
  assertEquals(y.length, ref.length);
  let err = 0;
  for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - ref[i]));
  assert(err < 1e-4, `max |difference| ${err}`);
  assertThrows(() => analyticParams(instanceNormModel()), /not the analytic stand-in/);
});
