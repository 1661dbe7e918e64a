import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { InputError } from "../../lib/core/errors.ts";
import { decodeJpeg, isJpeg, jpegFrame } from "../../lib/io/jpeg_decode.ts";
import { GOLDEN } from "../_fixtures.ts";

const DIR = `${GOLDEN}/images/`;

/** Samples that differ from libjpeg-turbo's own decode (tests/golden/images/README.md), and the largest difference. */
async function compare(name: string): Promise<{ channels: number; width: number; differ: number; max: number }> {
  const img = await decodeJpeg(await Deno.readFile(`${DIR}${name}.jpg`), name);
  const ref = await Deno.readFile(`${DIR}${name}.ref.raw`);
  assertEquals(img.data.length, ref.length, `${name}: sample count`);
  let differ = 0, max = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i] - img.data[i]);
    if (d) differ++;
    max = Math.max(max, d);
  }
  return { channels: img.channels, width: img.width, differ, max };
}

Deno.test("JPEG decoder: libjpeg-turbo's pixels exactly (grey, 4:2:0 colour, progressive 4:2:2)", async () => {
  assertEquals(await compare("axial_grey_q90"), { channels: 1, width: 217, differ: 0, max: 0 });
  assertEquals(await compare("axial_rgb420_q90"), { channels: 3, width: 217, differ: 0, max: 0 });
  assertEquals(await compare("crop_rgb422_q75_prog"), { channels: 3, width: 64, differ: 0, max: 0 });
});

Deno.test("JPEG decoder: the frame header read without decoding", async () => {
  const bytes = await Deno.readFile(`${DIR}axial_rgb420_q90.jpg`);
  assert(isJpeg(bytes));
  assert(!isJpeg(new Uint8Array([0xff, 0xd8, 0x00])));
  assertEquals(jpegFrame(bytes, "a.jpg"), { process: 0, precision: 8, width: 217, height: 181, components: 3 });
  const prog = await Deno.readFile(`${DIR}crop_rgb422_q75_prog.jpg`);
  assertEquals(jpegFrame(prog, "p.jpg").process, 2);
});

/** A copy of the grey fixture with its SOF patched. */
async function patchedSof(patch: (sof: number, b: Uint8Array) => void): Promise<Uint8Array> {
  const b = (await Deno.readFile(`${DIR}axial_grey_q90.jpg`)).slice();
  let at = 2;
  while (b[at + 1] !== 0xc0) at += 2 + ((b[at + 2] << 8) | b[at + 3]);
  patch(at, b);
  return b;
}

Deno.test("JPEG decoder: bad files are one error naming the file (exit 65)", async () => {
  const good = await Deno.readFile(`${DIR}axial_rgb420_q90.jpg`);
  const cases: [string, Uint8Array, RegExp][] = [
    ["cut.jpg", good.subarray(0, good.length >> 1), /^cut\.jpg: corrupt or truncated JPEG data in a 217x181 image$/],
    ["head.jpg", good.subarray(0, 40), /^head\.jpg: truncated JPEG file \(no frame header\)$/],
    ["png.jpg", new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), /^png\.jpg: not a JPEG file$/],
    ["twelve.jpg", await patchedSof((at, b) => b[at + 4] = 12), /^twelve\.jpg: 12-bit JPEG is not supported/],
    ["lossless.jpg", await patchedSof((at, b) => b[at + 1] = 0xc3), /^lossless\.jpg: lossless JPEG is not supported$/],
    ["cmyk.jpg", await patchedSof((at, b) => b[at + 9] = 4), /^cmyk\.jpg: CMYK\/YCCK JPEG is not supported/],
  ];
  for (const [name, bytes, want] of cases) {
    const e = await assertRejects(() => decodeJpeg(bytes, name), want);
    assert(e instanceof InputError && e.exitCode === 65, `${name}: ${e}`);
  }
  // the module still decodes after a failure
  assertEquals((await compare("axial_grey_q90")).differ, 0);
});
