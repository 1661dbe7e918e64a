import { decodeModel, num } from "../../lib/engine/onnx_proto.ts";
import { ortBackend } from "../../lib/engine/ort.ts";
import { buildResEncUNet, patchMultiple, PRESETS } from "../../scripts/builders/model_builder.ts";
import { assert, assertEquals } from "../_assert.ts";

Deno.test("tiny preset: < 1 MB, SIAM's I/O contract, dynamic spatial axes, seeded", async () => {
  const a = buildResEncUNet({ ...PRESETS.tiny, fp16: false, seed: 3 });
  const b = buildResEncUNet({ ...PRESETS.tiny, fp16: false, seed: 3 });
  const c = buildResEncUNet({ ...PRESETS.tiny, fp16: false, seed: 4 });
  assert(a.bytes.length < 1 << 20);
  assertEquals(a.bytes, b.bytes);
  assert(a.bytes.length === c.bytes.length && a.bytes.some((v, i) => v !== c.bytes[i]));
  const m = decodeModel(a.bytes);
  const dims = m.graph!.input![0].type!.tensor_type!.shape!.dim!;
  assertEquals(dims.map((d) => d.dim_param || num(d.dim_value)), ["batch", 1, "D", "H", "W"]);
  const ops = new Set(m.graph!.node!.map((n) => n.op_type));
  for (const op of ["Conv", "InstanceNormalization", "LeakyRelu", "Add", "AveragePool", "ConvTranspose", "Concat"]) {
    assert(ops.has(op), op);
  }
  const s = await ortBackend.create({ model: a.bytes, label: "tiny" }, { compute: "cpu" });
  for (const patch of [[16, 16, 16], [8, 24, 12]] as [number, number, number][]) {
    const out = await s.run(new Float32Array(patch[0] * patch[1] * patch[2]).fill(0.5), patch);
    assertEquals(out.length, 18 * patch[0] * patch[1] * patch[2]);
  }
  await s.release();
});

Deno.test("siam-v0.3 preset topology: 7 stages, patch multiples 64/64/32", () => {
  const p = PRESETS["siam-v0.3"];
  assertEquals(p.features, [32, 64, 128, 256, 320, 320, 320]);
  assertEquals(p.blocks, [1, 3, 4, 6, 6, 6, 6]);
  assertEquals(patchMultiple(p), [64, 64, 32]);
});
