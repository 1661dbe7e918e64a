import { concatBytes } from "../../lib/core/bytes.ts";
import { assertEquals } from "../_assert.ts";

Deno.test("concatBytes: the parts in order, empty ones included, in a new array", () => {
  const a = new Uint8Array([1, 2]), b = new Uint8Array(0), c = new Uint8Array([3, 4, 5]).subarray(1);
  const out = concatBytes([a, b, c]);
  assertEquals([...out], [1, 2, 4, 5]);
  out[0] = 9;
  assertEquals(a[0], 1);
  assertEquals(concatBytes([]).length, 0);
});
