import { FP16_TO_FP32, PASSES, rewriteForProvider } from "../../../lib/engine/passes/rewrites.ts";
import type { GraphPass } from "../../../lib/engine/passes/graph_pass.ts";
import { isFloat16Model } from "../../../lib/engine/passes/fp16.ts";
import { decodeModel } from "../../../lib/engine/onnx_proto.ts";
import { assert, assertEquals, assertThrows } from "../../_assert.ts";
import { tinyModel } from "../../_models.ts";

Deno.test("rewrites: fp16 weights become fp32 on the CPU only; other models pass through undecoded", async () => {
  assert(PASSES.includes(FP16_TO_FP32));
  const fp16 = await Deno.readFile(await tinyModel(true));
  const cpu = rewriteForProvider(fp16, "cpu", [FP16_TO_FP32]);
  assertEquals(cpu.steps.length, 1);
  assert(cpu.steps[0].startsWith("fp16->fp32: "), cpu.steps[0]);
  assert(!isFloat16Model(decodeModel(cpu.bytes)));
  assert(decodeModel(cpu.bytes).producer_name!.includes("rewritten by siamize: fp16->fp32"));
  const gpu = rewriteForProvider(fp16, "webgpu", [FP16_TO_FP32]);
  assertEquals(gpu.steps, []);
  assert(gpu.bytes === fp16, "no pass wanted: the same bytes, not a copy");
  const fp32 = await Deno.readFile(await tinyModel(false));
  assert(rewriteForProvider(fp32, "cpu", [FP16_TO_FP32]).bytes === fp32);
});

Deno.test("rewrites: passes run in order on one decoded graph; a pass that changes nothing is not reported", async () => {
  const fp32 = await Deno.readFile(await tinyModel(false));
  const seen: string[] = [];
  const pass = (name: string, change: boolean): GraphPass => ({
    name,
    wanted: () => true,
    run(model) {
      seen.push(name);
      if (!change) return undefined;
      model.graph!.name = `${model.graph!.name}+${name}`;
      return "changed";
    },
  });
  const r = rewriteForProvider(fp32, "cpu", [pass("a", true), pass("b", false), pass("c", true)]);
  assertEquals(seen, ["a", "b", "c"]);
  assertEquals(r.steps, ["a: changed", "c: changed"]);
  assert(decodeModel(r.bytes).graph!.name!.endsWith("+a+c"));
  const none = rewriteForProvider(fp32, "cpu", [pass("d", false)]);
  assert(none.bytes === fp32);
  assertThrows(() => rewriteForProvider(new TextEncoder().encode("<html>"), "cpu", [pass("e", true)]), /./);
});

Deno.test("rewrites: the passes' new tensors are freed once encoded; the input bytes stay whole for another provider", async () => {
  const fp16 = await Deno.readFile(await tinyModel(true));
  const copy = fp16.slice();
  let made: Uint8Array | undefined;
  const grow: GraphPass = {
    name: "grow",
    wanted: () => true,
    run(model) {
      made = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
      model.graph!.initializer!.push({ name: "extra", dims: [3], data_type: 1, raw_data: made });
      return "1 tensor";
    },
  };
  const a = rewriteForProvider(fp16, "cpu", [FP16_TO_FP32, grow]);
  assertEquals(made!.length, 0, "the pass's tensor was released");
  const extra = decodeModel(a.bytes).graph!.initializer!.find((t) => t.name === "extra")!;
  assertEquals([...new Float32Array(Uint8Array.from(extra.raw_data!).buffer)], [1, 2, 3]);
  // The input's own views (decoded tensors still in it) were not detached.
  assertEquals(fp16, copy);
  const b = rewriteForProvider(fp16, "cpu", [FP16_TO_FP32, grow]);
  assertEquals(b.bytes, a.bytes);
});
