import { BJArray, BJDataError, decodeBJData } from "../../lib/io/bjdata.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { arr, asBigEndian, bj, F, int, num, obj, str, T, typed, typedNd, Z } from "../_bjbytes.ts";

Deno.test("BJData scalars of every marker, strings, objects and constants, in both byte orders", () => {
  const values: [string, number][] = [
    ["i", -100],
    ["U", 200],
    ["I", -30000],
    ["u", 60000],
    ["l", -2000000000],
    ["m", 4000000000],
    ["L", -(2 ** 53 - 1)],
    ["M", 2 ** 53 - 1],
    ["h", 0.5],
    ["d", 1.25],
    ["D", 1 / 3],
  ];
  for (const endian of ["little", "big"] as const) {
    const build = () =>
      bj(
        obj(...values.map(([m, x]) => [m, num(m, x)] as [string, number[]]), ["s", str("naïve")], ["c", arr(T, F, Z)]),
      );
    const bytes = endian === "big" ? asBigEndian(build) : build();
    const got = decodeBJData(bytes, endian) as Record<string, unknown>;
    for (const [m, x] of values) assertEquals(got[m], x, `${endian} ${m}`);
    assertEquals(got.s, "naïve");
    assertEquals(got.c, [true, false, null]);
  }
});

Deno.test("BJData optimised containers keep their type and shape: [$U#n bytes, [$t#n, N-D row-major and Draft-3 column-major", () => {
  const bytes = decodeBJData(bj(typed("U", [1, 2, 250])));
  assert(bytes instanceof Uint8Array);
  assertEquals(Array.from(bytes), [1, 2, 250]);
  const one = decodeBJData(bj(typed("d", [1.5, -2, 3])));
  assert(one instanceof BJArray && one.data instanceof Float32Array);
  assertEquals([one.dims, Array.from(one.data)], [[3], [1.5, -2, 3]]);
  // The spec's 2x3x4 example, as an N-D optimised container (row-major).
  const spec = [1, 9, 6, 0, 2, 9, 3, 1, 8, 0, 9, 6, 6, 4, 2, 7, 8, 5, 1, 2, 3, 3, 2, 6];
  const nd = decodeBJData(bj(typedNd("I", [2, 3, 4], spec)));
  assert(nd instanceof BJArray && nd.data instanceof Int16Array && !nd.columnMajor);
  assertEquals([nd.dims, Array.from(nd.data)], [[2, 3, 4], spec]);
  // Big-endian 64-bit integers of an N-D container become exact doubles.
  const big = decodeBJData(asBigEndian(() => bj(typedNd("L", [2, 2], [1, -2, 2 ** 53 - 1, 7]))), "big");
  assert(big instanceof BJArray && big.data instanceof Float64Array);
  assertEquals(Array.from(big.data), [1, -2, 2 ** 53 - 1, 7]);
  // A 3x4 uint8 matrix (a byte Affine): N-D, not flattened into bytes.
  const m = decodeBJData(bj(typedNd("U", [3, 4], [2, 0, 0, 10, 0, 3, 0, 20, 0, 0, 4, 30])));
  assert(m instanceof BJArray);
  assertEquals(m.dims, [3, 4]);
  // Draft 3 column-major: the dimension vector wrapped in [ ].
  const col = decodeBJData(bj(typedNd("U", [2, 3], [1, 2, 3, 4, 5, 6], true)));
  assert(col instanceof BJArray && col.columnMajor);
  assertEquals(col.dims, [2, 3]);
  // A dimension vector written as a plain array of integers.
  const plainDims = new Uint8Array([
    ..."[$U#".split("").map((c) => c.charCodeAt(0)),
    ...arr(num("U", 2), num("U", 2)),
    9,
    8,
    7,
    6,
  ]);
  const pd = decodeBJData(plainDims);
  assert(pd instanceof BJArray);
  assertEquals([pd.dims, Array.from(pd.data)], [[2, 2], [9, 8, 7, 6]]);
});

Deno.test("malformed BJData: a BJDataError with the byte offset where decoding stopped", () => {
  const e = assertThrows(() => decodeBJData(bj(typed("l", [1, 2, 3])).subarray(0, 9)), /BJData: truncated/);
  assert(e instanceof BJDataError && e.at === 6);
  const q = assertThrows(() => decodeBJData(bj(obj(["a", [0x71]]))), /not a number marker "q" at byte 4/);
  assert(q instanceof BJDataError && q.at === 4);
  assertThrows(() => decodeBJData(bj(num("U", 1), num("U", 2))), /2 bytes after the value at byte 2/);
});

Deno.test("bjdata: a 2^40 count with no bytes behind it and containers nested 100k deep fail at once", () => {
  // [ $Z # L 2^40 ]: a null array of a trillion elements in 11 bytes.
  const huge = bj([0x5b, 0x24, 0x5a, 0x23, 0x4c, 0, 0, 0, 0, 0, 1, 0, 0]);
  assertThrows(() => decodeBJData(huge), /count 1099511627776 exceeds the 0 bytes left/);
  const untyped = bj([0x5b, 0x23, 0x4c, 0, 0, 0, 0, 0, 1, 0, 0, ...int(1)]);
  assertThrows(() => decodeBJData(untyped), /count 1099511627776 exceeds the 2 bytes left/);
  const deep = new Uint8Array(200_000);
  deep.fill(0x5b, 0, 100_000);
  deep.fill(0x5d, 100_000);
  assertThrows(() => decodeBJData(deep), /nested deeper than 256 levels/);
  assertEquals(decodeBJData(bj(arr(arr(int(1))))), [[1]]);
});
