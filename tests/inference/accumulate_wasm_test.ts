import type { Shape3 } from "../../lib/core/types.ts";
import { addRows, addXyzBlocks } from "../../lib/inference/accumulate_kernel.ts";
import {
  accumulatorLayout,
  AccumulatorMemory,
  kernelModuleBytes,
  WASM_MAX_BYTES,
  WASM_MAX_TILE_BYTES,
  wasmKernelSupported,
} from "../../lib/inference/accumulate_wasm.ts";
import { LogitAccumulator } from "../../lib/inference/ensemble.ts";
import { gaussianMap } from "../../lib/inference/tiling.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { join } from "../../lib/core/_std.ts";
import { tempDir } from "../_fixtures.ts";

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * (1 + (i % 5)) * 1e3);
}

Deno.test("wasm kernel: the module validates and this runtime runs it", () => {
  assert(WebAssembly.validate(kernelModuleBytes()));
  assert(wasmKernelSupported());
});

// Rows of 14 (three vectors and a tail of two), 12 (vectors only) and 3 (tail only); z of 5 and 4 and 3 (xyz blocks and edges).
for (const xyz of [false, true]) {
  for (const patch of [[5, 6, 14], [4, 3, 12], [3, 4, 3]] as Shape3[]) {
    Deno.test(`wasm kernel (${xyz ? "xyz" : "zyx"}): patch ${patch.join("x")} gives the JavaScript kernel's sums bit for bit`, () => {
      const classes = 5;
      const shape: Shape3 = [11, 9, 17];
      const n = shape[0] * shape[1] * shape[2];
      const g = gaussianMap(patch);
      const mem = AccumulatorMemory.create(classes, n, g)!;
      const ref = new Float32Array(classes * n);
      const pn = patch[0] * patch[1] * patch[2];
      for (const [k, start] of [[0, 0, 0], [6, 3, 3], [3, 2, 17 - patch[2]]].entries()) {
        const logits = values(classes * pn, k);
        const geo = { shape, start, patch };
        // Two rounds of classes, the second added in two ranges, as two threads would.
        mem.load(logits, 0, 2, 0);
        mem.add(geo, 0, 2, 0, xyz);
        mem.load(logits, 4, classes, 2);
        mem.load(logits, 2, 4, 2);
        mem.add(geo, 2, 4, 2, xyz);
        mem.add(geo, 4, classes, 2, xyz);
        (xyz ? addXyzBlocks : addRows)(ref, logits, g, geo, 0, classes);
      }
      assertEquals(mem.sum, ref);
      // Nothing outside the sums was written: the weights are intact.
      assertEquals(mem.weights, g);
      // A tile reaching past the grid is refused before the kernel writes anything.
      assertThrows(() => mem.add({ shape, start: [12 - patch[0], 0, 0], patch }, 0, 1, 0, xyz), /past the grid/);
      assertEquals(mem.sum, ref);
    });
  }
}

Deno.test("wasm kernel: a grid over 4 GiB keeps the JavaScript kernel; a large tile passes in rounds of 64 MiB", () => {
  const voxels = 400 * 400 * 400;
  assert(accumulatorLayout(18, voxels, 64 * 64 * 48).bytes > WASM_MAX_BYTES);
  assertEquals(AccumulatorMemory.create(18, voxels, new Float32Array(64 * 64 * 48)), undefined);
  // The SIAM test card's tile passes whole; a MONAI CT tile (105 x 96³, 371 MB) in rounds of 18 classes.
  assertEquals(accumulatorLayout(18, 1000, 64 * 64 * 48).roundClasses, 18);
  const ct = accumulatorLayout(105, 121 * 145 * 121, 96 ** 3);
  assertEquals(ct.roundClasses, 18);
  assert(ct.roundClasses * 96 ** 3 * 4 <= WASM_MAX_TILE_BYTES);
  // A class plane over 64 MiB still passes, one class a round.
  assertEquals(accumulatorLayout(18, 1000, 512 ** 3).roundClasses, 1);
  const acc = new LogitAccumulator(2, [4, 4, 4], gaussianMap([2, 2, 2]));
  assert(acc.simd);
  assertEquals(new LogitAccumulator(2, [4, 4, 4], gaussianMap([2, 2, 2]), { wasm: false }).simd, false);
});

for (const [threads, xyz] of [[1, false], [2, false], [3, false], [1, true], [2, true]] as const) {
  Deno.test(`accumulator: the SIMD kernel (${xyz ? "xyz" : "zyx"}) on ${threads} thread(s) gives the JavaScript kernel's sums`, async () => {
    const classes = 6;
    const shape: Shape3 = [20, 18, 22];
    const patch: Shape3 = [12, 10, 14];
    const g = gaussianMap(patch);
    const js = new LogitAccumulator(classes, shape, g, { wasm: false });
    const simd = new LogitAccumulator(classes, shape, g);
    simd.startThreads(threads);
    try {
      assert(simd.simd);
      for (const [k, start] of [[0, 0, 0], [8, 8, 8], [4, 2, 6]].entries()) {
        const logits = values(classes * 12 * 10 * 14, k);
        if (xyz) js.addTileXyz(logits, start, patch);
        else js.addTile(logits, start, patch);
        await simd.addTileThreaded(logits, start, patch, xyz);
      }
      assertEquals(simd.sum, js.sum);
      assertEquals(simd.weights, js.weights);
      js.endFold();
      simd.endFold();
      assertEquals(simd.finish([[1, 1], [0, 2], [3, 0]]), js.finish([[1, 1], [0, 2], [3, 0]]));
    } finally {
      simd.close();
    }
  });
}

for (const threads of [1, 2, 3]) {
  Deno.test(`accumulator: the division on ${threads} thread(s) gives the one-thread quotients; with padding it stays on one`, async () => {
    const classes = 7;
    const shape: Shape3 = [14, 12, 18];
    const patch: Shape3 = [8, 8, 10];
    const g = gaussianMap(patch);
    const starts = [[0, 0, 0], [6, 4, 8], [3, 2, 5]];
    for (const pad of [[[0, 0], [0, 0], [0, 0]], [[1, 2], [0, 1], [3, 0]]] as [number, number][][]) {
      const one = new LogitAccumulator(classes, shape, g, { wasm: false });
      const many = new LogitAccumulator(classes, shape, g);
      many.startThreads(threads);
      try {
        for (let fold = 0; fold < 2; fold++) {
          for (const [k, start] of starts.entries()) {
            const logits = values(classes * 8 * 8 * 10, k + 3 * fold);
            one.addTile(logits, start, patch);
            await many.addTileThreaded(logits, start, patch);
          }
          one.endFold();
          many.endFold();
        }
        const want = one.finish(pad);
        // This thread's packing division runs only where the threads cannot share it.
        const packing = AccumulatorMemory.prototype.divide;
        let packed = 0;
        AccumulatorMemory.prototype.divide = function (...a) {
          packed++;
          return packing.apply(this, a);
        };
        let got;
        try {
          got = await many.finishThreaded(pad);
        } finally {
          AccumulatorMemory.prototype.divide = packing;
        }
        const padded = pad.some(([a, b]) => a + b > 0);
        assertEquals(packed, padded || threads === 1 ? 1 : 0);
        assertEquals(got.shape, want.shape);
        assertEquals(got.logits, want.logits);
        assert(got.logits.buffer === many.sum.buffer, "in place");
        await assertRejects(() => many.finishThreaded(pad), /already finished/);
      } finally {
        many.close();
      }
    }
  });
}

Deno.test("wasm kernel: warmed at compile time, so a run's first calls get V8's optimised code (not the baseline's)", async () => {
  // V8's own view of each export, through its test natives, in a child process with them turned on.
  await using dir = await tempDir();
  const script = join(dir.path, "tiers.js");
  const url = new URL("../../lib/inference/accumulate_wasm.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `const { kernelModule, instantiateKernel } = await import(${JSON.stringify(url)});
const k = instantiateKernel(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }), kernelModule());
const tiers = () => ({ rows: %IsTurboFanFunction(k.rows), xyz: %IsTurboFanFunction(k.xyz), divide: %IsTurboFanFunction(k.divide) });
// The optimising compiler runs in the background: wait for it, up to 5 s.
for (let i = 0; i < 500 && !Object.values(tiers()).every(Boolean); i++) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify(tiers()));
`,
  );
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--v8-flags=--allow-natives-syntax", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assert(r.success, err);
  assertEquals(JSON.parse(new TextDecoder().decode(r.stdout)), { rows: true, xyz: true, divide: true });
});
