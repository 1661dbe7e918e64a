import { gzipSync } from "node:zlib";
import {
  compress,
  decompress,
  gunzipBounded,
  INFLATE_PIECE,
  inflateChunks,
  InflateLimitError,
  MAX_DEFLATE_RATIO,
} from "../../lib/io/gzip.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";

const zeros = (n: number) => new Uint8Array(n);

Deno.test("gzip: a bomb inflates in bounded chunks (not one chunk per input block)", async () => {
  const gz = await compress(zeros(48 * 2 ** 20)); // 48 MiB of zeros, about 50 kB of gzip: one input block
  let max = 0, total = 0;
  for await (const c of inflateChunks(gz)) {
    max = Math.max(max, c.length);
    total += c.length;
  }
  assertEquals(total, 48 * 2 ** 20);
  assert(max <= INFLATE_PIECE * MAX_DEFLATE_RATIO, `largest chunk ${max} bytes`);
});

Deno.test("gzip: decompress stops the moment the output passes the limit", async () => {
  const gz = await compress(zeros(8 * 2 ** 20));
  const e = await assertRejects(() => decompress(gz, "gzip", 2 ** 20), /inflates to more than 1048576 bytes/);
  assert(e instanceof InflateLimitError);
  const z = await compress(zeros(8 * 2 ** 20), "deflate");
  await assertRejects(() => decompress(z, "deflate", 1000), /more than 1000 bytes/);
  assertEquals((await decompress(z, "deflate", 8 * 2 ** 20)).length, 8 * 2 ** 20, "exactly the limit is fine");
});

Deno.test("gzip: the multi-member fallback has the same limit", async () => {
  const two = new Uint8Array([...gzipSync(zeros(3 * 2 ** 20)), ...gzipSync(zeros(3 * 2 ** 20))]);
  assertEquals((await decompress(two)).length, 6 * 2 ** 20);
  await assertRejects(() => decompress(two, "gzip", 4 * 2 ** 20), /more than 4194304 bytes/);
  await assertRejects(() => gunzipBounded(two, 2 ** 20), /more than 1048576 bytes/);
});
