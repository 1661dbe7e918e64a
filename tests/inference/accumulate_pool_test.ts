import type { Shape3 } from "../../lib/core/types.ts";
import { LogitAccumulator } from "../../lib/inference/ensemble.ts";
import { runWindows } from "../../lib/inference/sliding_window.ts";
import { gaussianMap } from "../../lib/inference/tiling.ts";
import { type Inference, planWindows } from "../../lib/inference/window.ts";
import { assertEquals, assertRejects } from "../_assert.ts";

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * (1 + (i % 5)));
}

for (const xyz of [false, true]) {
  Deno.test(`accumulator threads (${xyz ? "xyz" : "zyx"}): worker shares give the sums of one thread, bit for bit`, async () => {
    const classes = 7;
    const shape: Shape3 = [20, 18, 22];
    const patch: Shape3 = [12, 10, 14];
    const g = gaussianMap(patch);
    const one = new LogitAccumulator(classes, shape, g);
    const three = new LogitAccumulator(classes, shape, g);
    three.startThreads(3);
    assertEquals([one.threads, three.threads], [1, 3]);
    try {
      for (const [k, start] of [[0, 0, 0], [8, 8, 8], [4, 2, 6]].entries()) {
        const logits = values(classes * 12 * 10 * 14, k);
        if (xyz) one.addTileXyz(logits, start, patch);
        else one.addTile(logits, start, patch);
        await three.addTileThreaded(logits, start, patch, xyz);
      }
      assertEquals(three.sum, one.sum);
      assertEquals(three.weights, one.weights);
      await assertRejects(
        () => three.addTileThreaded(new Float32Array(5), [0, 0, 0], patch, xyz),
        /network returned 5 values/,
      );
    } finally {
      three.close();
    }
  });
}

Deno.test("runWindows: accumulateThreads changes nothing in the result", async () => {
  const inf: Inference = {
    mode: "sliding-window",
    starts: "nnunet",
    overlap: 0.5,
    step: 0.5,
    padding: "constant",
    blending: { type: "nnunet", sigmaScale: 1 / 8, valueScale: 10 },
  };
  const shape: Shape3 = [14, 12, 16];
  const img = values(14 * 12 * 16, 3);
  const plan = planWindows(shape, inf, [8, 8, 8]);
  const net = (tile: Float32Array) => {
    const out = new Float32Array(4 * tile.length);
    for (let c = 0; c < 4; c++) {
      for (let i = 0; i < tile.length; i++) out[c * tile.length + i] = tile[i] * (c - 1.5) + i * 1e-3;
    }
    return Promise.resolve(out);
  };
  const folds = () => [{ classes: 4, predict: net }, { classes: 4, predict: net }];
  const a = await runWindows(img, 1, shape, plan, folds());
  const b = await runWindows(img, 1, shape, plan, folds(), { accumulateThreads: 2 });
  assertEquals(b.logits, a.logits);
  // The result says how the tiles were added.
  assertEquals([a.adds, b.adds], [{ kernel: "wasm-simd", threads: 1 }, { kernel: "wasm-simd", threads: 2 }]);
});

for (const [threads, wasm] of [[1, true], [2, true], [3, true], [2, false]] as const) {
  Deno.test(`accumulator: an add's meanwhile runs once on this thread (${threads} thread(s), ${wasm ? "SIMD" : "JavaScript"} kernels); same sums; its error after every share`, async () => {
    const classes = 5;
    const shape: Shape3 = [16, 14, 18];
    const patch: Shape3 = [8, 8, 10];
    const g = gaussianMap(patch);
    const plain = new LogitAccumulator(classes, shape, g, { wasm });
    const busy = new LogitAccumulator(classes, shape, g, { wasm });
    busy.startThreads(threads);
    try {
      const starts = [[0, 0, 0], [8, 6, 8], [4, 3, 5]];
      let ran = 0;
      for (const [k, start] of starts.entries()) {
        const logits = values(classes * 8 * 8 * 10, k);
        plain.addTile(logits, start, patch);
        await busy.addTileThreaded(logits, start, patch, false, () => void ran++);
      }
      assertEquals(ran, starts.length);
      assertEquals(busy.sum, plain.sum);
      assertEquals(busy.weights, plain.weights);
      // A failing meanwhile (an abort while the next tile is cut out) is thrown once the tile is in.
      const logits = values(classes * 8 * 8 * 10, 9);
      plain.addTile(logits, [2, 2, 2], patch);
      await assertRejects(
        () =>
          busy.addTileThreaded(logits, [2, 2, 2], patch, false, () => {
            throw new Error("stopped");
          }),
        /stopped/,
      );
      assertEquals(busy.sum, plain.sum);
    } finally {
      busy.close();
    }
  });
}
