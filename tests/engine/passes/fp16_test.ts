import { isFloat16Model, toFloat32Model } from "../../../lib/engine/passes/fp16.ts";
import { DataType, decodeModel, num } from "../../../lib/engine/onnx_proto.ts";
import { ortBackend } from "../../../lib/engine/ort.ts";
import { assert, assertEquals } from "../../_assert.ts";
import { tinyModel } from "../../_models.ts";

function argmax(logits: Float32Array, classes: number): Uint8Array {
  const n = logits.length / classes;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let c = 1; c < classes; c++) if (logits[c * n + i] > logits[b * n + i]) b = c;
    out[i] = b;
  }
  return out;
}

Deno.test("fp16 graph is rewritten to a pure fp32 graph with the same argmax", async () => {
  const fp16 = await Deno.readFile(await tinyModel(true));
  assert(isFloat16Model(decodeModel(fp16)));
  const r = toFloat32Model(fp16);
  assert(r.rewritten);
  assertEquals(r.casts, 2);
  const m = decodeModel(r.bytes);
  assert(!isFloat16Model(m));
  assert(m.graph!.node!.every((n) => n.op_type !== "Cast"), "no Cast left");
  assert(m.graph!.initializer!.every((t) => t.data_type === DataType.FLOAT));
  assertEquals(m.graph!.output![0].name, "logits");
  assertEquals(m.graph!.input![0].name, "x");
  // Same weights, upcast exactly.
  const orig = decodeModel(fp16).graph!.initializer![0];
  const up = m.graph!.initializer![0];
  const h = new Float16Array(new Uint8Array(orig.raw_data!).buffer);
  const f = new Float32Array(new Uint8Array(up.raw_data!).buffer);
  assertEquals(Array.from(f), Array.from(h));
  assertEquals(up.dims!.map(num), orig.dims!.map(num));

  const patch: [number, number, number] = [16, 16, 16];
  const x = new Float32Array(16 ** 3).map((_, i) => Math.sin(i * 0.3) + Math.cos(i * 0.011));
  const a = await ortBackend.create({ model: fp16, label: "fp16" }, { compute: "cpu" });
  const b = await ortBackend.create({ model: r.bytes, label: "fp32" }, { compute: "cpu" });
  const la = argmax(await a.run(x, patch), 18), lb = argmax(await b.run(x, patch), 18);
  await a.release();
  await b.release();
  let agree = 0;
  for (let i = 0; i < la.length; i++) if (la[i] === lb[i]) agree++;
  assert(agree / la.length >= 0.99, `argmax agreement ${agree / la.length}`);
});

Deno.test("an fp32 model is left as it is", async () => {
  const fp32 = await Deno.readFile(await tinyModel(false));
  const r = toFloat32Model(fp32);
  assert(!r.rewritten);
  assert(r.bytes === fp32);
});

Deno.test("fp16 weights are detected from the wire format without decoding", async () => {
  const { hasFloat16Initializers } = await import("../../../lib/engine/passes/fp16.ts");
  assert(hasFloat16Initializers(await Deno.readFile(await tinyModel(true))));
  assert(!hasFloat16Initializers(await Deno.readFile(await tinyModel(false))));
  assert(!hasFloat16Initializers(new TextEncoder().encode("<html>not a model</html>")));
  assert(!hasFloat16Initializers(new Uint8Array(0)));
});
