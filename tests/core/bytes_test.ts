import { concatBytes, releaseBuffer } from "../../lib/core/bytes.ts";
import { assert, assertEquals } from "../_assert.ts";

Deno.test("concatBytes: the parts in order, empty ones included, in a new array", () => {
  const a = new Uint8Array([1, 2]), b = new Uint8Array(0), c = new Uint8Array([3, 4, 5]).subarray(1);
  const out = concatBytes([a, b, c]);
  assertEquals([...out], [1, 2, 4, 5]);
  out[0] = 9;
  assertEquals(a[0], 1);
  assertEquals(concatBytes([]).length, 0);
});

Deno.test("releaseBuffer: frees a buffer a view spans whole, now; leaves slices, shared and wasm memory alone", () => {
  const a = new Float32Array(1 << 20).fill(1);
  const alias = new Uint8Array(a.buffer);
  assert(releaseBuffer(a));
  assertEquals([a.length, alias.length, a.buffer.byteLength], [0, 0, 0]);
  assert(!releaseBuffer(a), "twice: nothing left to release");
  // A view over part of a buffer (a pool's slice) is not the buffer's owner.
  const pool = new Uint8Array(64).fill(7);
  const slice = pool.subarray(8, 16);
  assert(!releaseBuffer(slice));
  assertEquals([pool.length, slice[0]], [64, 7]);
  const offset = new Uint8Array(pool.buffer, 1);
  assert(!releaseBuffer(offset));
  assertEquals(pool.length, 64);
  const shared = new Float32Array(new SharedArrayBuffer(16));
  assert(!releaseBuffer(shared));
  assertEquals(shared.length, 4);
  const wasm = new Uint8Array(new WebAssembly.Memory({ initial: 1 }).buffer);
  assert(!releaseBuffer(wasm));
  assertEquals(wasm.length, 65536);
  assert(!releaseBuffer(new Uint8Array(0)));
});
