import { compareLabels } from "../scripts/regress.ts";
import { assertClose, assertEquals, assertThrows } from "./_assert.ts";

Deno.test("regress: voxel agreement and per-class Dice", () => {
  const a = [0, 0, 1, 1, 2, 2, 2, 0];
  const b = [0, 0, 1, 2, 2, 2, 1, 0];
  const { agreement, dice } = compareLabels(a, b, 4);
  assertEquals(agreement, 6 / 8);
  assertClose(dice.slice(0, 3), [1, 2 * 1 / (2 + 2), 2 * 2 / (3 + 3)], 1e-12);
  assertEquals(Number.isNaN(dice[3]), true);
  assertThrows(() => compareLabels([1], [1, 2], 3), /differ in size/);
});
