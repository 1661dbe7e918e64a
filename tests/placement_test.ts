import { parsePlacement } from "../lib/placement.ts";
import { assertEquals } from "./_assert.ts";

const ev = (name: string, op: string, provider: string, type = "float") => ({
  cat: "Node",
  name: `${name}_kernel_time`,
  args: { op_name: op, provider, output_type_shape: [{ [type]: [1, 2] }] },
});

Deno.test("placement: nodes off the GPU are named; shape arithmetic on the CPU is counted apart", () => {
  const gpu = "WebGpuExecutionProvider";
  const r = parsePlacement([
    ev("conv1", "Conv", gpu),
    ev("conv1", "Conv", gpu), // a second run of the same node
    { cat: "Node", name: "conv1_fence_before", args: {} },
    ev("up", "ConvTranspose", "CPUExecutionProvider"),
    ev("shape_mul", "Mul", "CPUExecutionProvider", "int64"),
    { cat: "Session", name: "model_run" },
  ], gpu);
  assertEquals(r.byProvider, { [gpu]: 1, CPUExecutionProvider: 2 });
  assertEquals(r.offloaded, ["up (ConvTranspose)"]);
  assertEquals(r.shapeNodes, 1);
});
