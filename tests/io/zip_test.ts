import { isZipBytes, isZipFile, zipEntries, zipEntryBytes } from "../../lib/io/zip.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tempDir } from "../_fixtures.ts";
import { zipBytes } from "./_zip_writer.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const big = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % 13);

Deno.test("zip: stored and deflated entries read back byte for byte, names only reported", async () => {
  const a = big(50_000), b = enc("hello zip");
  const data = await zipBytes([
    { name: "dir/a.bin", data: a },
    { name: "../up/b.txt", data: b, deflate: false },
    { name: "/abs/c.txt", data: enc("c") },
  ]);
  assert(isZipBytes(data));
  const entries = zipEntries("x.zip", data);
  assertEquals(entries.map((e) => [e.name, e.method, e.size]), [
    ["dir/a.bin", 8, 50_000],
    ["../up/b.txt", 0, 9],
    ["/abs/c.txt", 8, 1],
  ]);
  assert(entries[0].compressedSize < 50_000, "deflated");
  assertEquals(await zipEntryBytes("x.zip", data, entries[0]), a);
  assertEquals(await zipEntryBytes("x.zip", data, entries[1]), b);
  assertEquals(await zipEntryBytes("x.zip", data, entries[2]), enc("c"));
});

Deno.test("zip: recognised by content, whatever the extension", async () => {
  await using d = await tempDir();
  await Deno.writeFile(`${d.path}/scans.dat`, await zipBytes([{ name: "a", data: enc("a") }]));
  await Deno.writeTextFile(`${d.path}/fake.zip`, "not a zip at all");
  assert(await isZipFile(`${d.path}/scans.dat`));
  assert(!(await isZipFile(`${d.path}/fake.zip`)));
  assert(!(await isZipFile(d.path)));
  assert(!(await isZipFile(`${d.path}/missing`)));
});

Deno.test("zip: a truncated archive is one error naming the file", async () => {
  const data = await zipBytes([{ name: "a.bin", data: big(20_000) }]);
  for (const cut of [data.length - 10, Math.floor(data.length / 2), 100]) {
    assertThrows(
      () => zipEntries("cut.zip", data.subarray(0, cut)),
      /^cut\.zip: not a readable zip archive \(.*truncated\?\)$/,
    );
  }
});

Deno.test("zip: an entry that inflates past its declared size (a bomb) stops there", async () => {
  const zeros = new Uint8Array(4 << 20); // 4 MiB of zeros deflate to a few KiB
  const data = await zipBytes([{ name: "bomb.dcm", data: zeros, declaredSize: 1000 }]);
  const [e] = zipEntries("bomb.zip", data);
  assertEquals(e.size, 1000);
  await assertRejects(
    () => zipEntryBytes("bomb.zip", data, e),
    /^bomb\.zip: entry "bomb\.dcm": inflates past its declared 1000 bytes \(a zip bomb\?\)$/,
  );
});

Deno.test("zip: a damaged entry fails its CRC-32; corrupt deflate data is named", async () => {
  const payload = enc("x".repeat(5000) + "end");
  const stored = await zipBytes([{ name: "s.txt", data: payload, deflate: false }]);
  stored[30 + 5 + 100] ^= 0xff; // a byte of the stored data
  await assertRejects(() => zipEntryBytes("s.zip", stored, zipEntries("s.zip", stored)[0]), /CRC-32 mismatch/);
  const packed = await zipBytes([{ name: "d.bin", data: big(30_000) }]);
  const [e] = zipEntries("d.zip", packed);
  for (let i = 30 + 5; i < 30 + 5 + e.compressedSize; i++) packed[i] = 0xff;
  await assertRejects(() => zipEntryBytes("d.zip", packed, e), /^d\.zip: entry "d\.bin": /);
});
