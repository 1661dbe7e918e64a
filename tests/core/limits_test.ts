import { join } from "../../lib/core/_std.ts";
import { InputError } from "../../lib/core/errors.ts";
import {
  bytesText,
  checkInputFile,
  DEFAULT_MAX_INPUT_BYTES,
  jsonDepth,
  MAX_NESTING,
  maxInputBytes,
  parseByteSize,
  parseJsonBounded,
} from "../../lib/core/limits.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tempDir, withEnv } from "../_fixtures.ts";

Deno.test("limits: SIAMIZE_MAX_INPUT_BYTES sets the ceiling (bytes or K/M/G/T); anything else keeps 8 GiB", async () => {
  assertEquals(parseByteSize("1000"), 1000);
  assertEquals(parseByteSize("16G"), 16 * 2 ** 30);
  assertEquals(parseByteSize("2MiB"), 2 * 2 ** 20);
  assertEquals(parseByteSize("x"), undefined);
  assertEquals(parseByteSize("-5"), undefined);
  await withEnv({ SIAMIZE_MAX_INPUT_BYTES: "3M" }, () => Promise.resolve(assertEquals(maxInputBytes(), 3 * 2 ** 20)));
  await withEnv({ SIAMIZE_MAX_INPUT_BYTES: "lots" }, () => Promise.resolve(assertEquals(maxInputBytes(), 2 ** 33)));
  assertEquals(DEFAULT_MAX_INPUT_BYTES, 8 * 2 ** 30);
  assertEquals(bytesText(1.5 * 2 ** 30), "1.5 GiB");
  assertEquals(bytesText(Infinity), "an unbounded amount");
});

Deno.test("limits: JSON nested 100k deep is refused with a message, not a stack overflow", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assertEquals(jsonDepth(deep), MAX_NESTING + 1, "counting stops past the limit");
  assertThrows(() => parseJsonBounded(deep), /JSON nested deeper than 256 levels/);
  // Brackets inside strings do not count; ordinary documents parse.
  assertEquals(jsonDepth(`{"a": "[[[[\\"[[[", "b": [[1]]}`), 3);
  assertEquals(parseJsonBounded(`{"a": [1, {"b": 2}]}`), { a: [1, { b: 2 }] });
});

Deno.test("limits: only regular files are inputs: a folder, /dev/zero and a FIFO are refused before opening", async () => {
  await using dir = await tempDir();
  const e1 = await assertRejects(() => checkInputFile(dir.path, "NIfTI"), /is a directory, not a NIfTI file/);
  assertEquals((e1 as InputError).exitCode, 66);
  if (Deno.build.os !== "windows") {
    const e2 = await assertRejects(() => checkInputFile("/dev/zero", "NIfTI"), /\/dev\/zero: is not a regular file/);
    assertEquals((e2 as InputError).exitCode, 66);
    const fifo = join(dir.path, "pipe.nii");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(made.success);
    await assertRejects(() => checkInputFile(fifo, "NIfTI"), /pipe\.nii: is not a regular file/);
  }
  const big = join(dir.path, "big.nii");
  await Deno.writeFile(big, new Uint8Array(4096));
  await withEnv({ SIAMIZE_MAX_INPUT_BYTES: "1" }, async () => {
    // The ceiling plus 64 MiB of header room: a 4 kB file passes, the check is on size.
    await checkInputFile(big, "NIfTI");
  });
  await assertRejects(() => checkInputFile(join(dir.path, "none.nii"), "NIfTI"), /none\.nii: cannot read/);
});
