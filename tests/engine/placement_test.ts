import { parsePlacement } from "../../lib/engine/placement.ts";
import { assertEquals } from "../_assert.ts";

const ev = (name: string, op: string, provider: string, type = "float", dims = [1, 2]) => ({
  cat: "Node",
  name: `${name}_kernel_time`,
  args: { op_name: op, provider, output_type_shape: [{ [type]: dims }] },
});

Deno.test("placement: nodes off the GPU are named; shape arithmetic on the CPU is counted apart", () => {
  const gpu = "WebGpuExecutionProvider";
  const r = parsePlacement([
    ev("conv1", "Conv", gpu),
    ev("conv1", "Conv", gpu), // a second run of the same node
    { cat: "Node", name: "conv1_fence_before", args: {} },
    ev("up", "ConvTranspose", "CPUExecutionProvider"),
    ev("shape_mul", "Mul", "CPUExecutionProvider", "int64"),
    ev("length", "Cast", "CPUExecutionProvider", "float", []), // a scalar from a shape
    ev("tiny", "Add", "CPUExecutionProvider", "float", [2]),
    { cat: "Session", name: "model_run" },
  ], gpu);
  assertEquals(r.byProvider, { [gpu]: 1, CPUExecutionProvider: 4 });
  assertEquals(r.offloaded, ["up (ConvTranspose)", "tiny (Add)"]);
  assertEquals(r.shapeNodes, 2);
});
