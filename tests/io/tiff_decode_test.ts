import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { InputError } from "../../lib/core/errors.ts";
import { decodeTiff, isTiff, undoSwappedPredictor } from "../../lib/io/tiff_decode.ts";
import { GOLDEN } from "../_fixtures.ts";

const DIR = `${GOLDEN}/images/`;

Deno.test("TIFF decoder: libtiff's files read back exactly (none/LZW/deflate, predictor, II/MM, 8/16-bit, grey/RGB)", async () => {
  const want: [string, number, number, number, 8 | 16][] = [
    ["axial_grey8_lzw", 217, 181, 1, 8],
    ["crop_grey8_none", 64, 48, 1, 8],
    ["crop_grey16_deflate_pred_mm", 64, 48, 1, 16], // big-endian 16-bit with the predictor: geotiff's slip undone
    ["crop_rgb8_lzw_pred", 64, 48, 3, 8],
    ["crop_rgb16_none", 64, 48, 3, 16],
  ];
  for (const [name, width, height, channels, bitDepth] of want) {
    const img = await decodeTiff(await Deno.readFile(`${DIR}${name}.tif`), name);
    assertEquals([img.width, img.height, img.channels, img.bitDepth], [width, height, channels, bitDepth], name);
    const raw = await Deno.readFile(`${DIR}${name}.ref.raw`); // little-endian samples
    const ref = bitDepth === 8 ? raw : new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
    assertEquals(img.data.length, ref.length, name);
    let differ = 0;
    for (let i = 0; i < ref.length; i++) if (img.data[i] !== ref[i]) differ++;
    assertEquals(differ, 0, `${name}: samples that differ`);
  }
});

/** The crop_grey8_none fixture (little-endian) with one IFD entry's SHORT value replaced. */
async function patchedTag(tag: number, value: number): Promise<Uint8Array> {
  const b = (await Deno.readFile(`${DIR}crop_grey8_none.tif`)).slice();
  const v = new DataView(b.buffer);
  const ifd = v.getUint32(4, true), n = v.getUint16(ifd, true);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (v.getUint16(e, true) === tag) v.setUint16(e + 8, value, true);
  }
  return b;
}

Deno.test("TIFF decoder: bad or unsupported files are one error naming the file (exit 65)", async () => {
  const good = await Deno.readFile(`${DIR}crop_grey8_none.tif`);
  assert(isTiff(good));
  assert(isTiff(new Uint8Array([0x4d, 0x4d, 0, 42])));
  assert(!isTiff(new Uint8Array([0x49, 0x49, 0, 42])));
  const cases: [string, Uint8Array, RegExp][] = [
    ["cut.tif", good.subarray(0, 3000), /^cut\.tif: truncated or corrupt TIFF structure/],
    ["two.tif", await Deno.readFile(`${DIR}crop_grey8_two_pages.tif`), /^two\.tif: multi-page TIFF \(2 pages\)/],
    ["jpeg.tif", await patchedTag(259, 7), /^jpeg\.tif: TIFF compression 7 is not supported/],
    ["la.tif", await patchedTag(277, 2), /^la\.tif: unsupported channel count 2 \(grey\+alpha\) in a 64x48 TIFF$/],
    ["b4.tif", await patchedTag(258, 4), /^b4\.tif: unsupported TIFF bit depth 4 in a 64x48 TIFF/],
    ["jpg.tif", new Uint8Array([0xff, 0xd8, 0xff, 0xe0]), /^jpg\.tif: not a TIFF file$/],
  ];
  for (const [name, bytes, want] of cases) {
    const e = await assertRejects(() => decodeTiff(bytes, name), want);
    assert(e instanceof InputError && e.exitCode === 65, `${name}: ${e}`);
  }
});

Deno.test("TIFF decoder: the big-endian predictor slip undone per row, channel and tile (restarting at each tile)", () => {
  const swap = (v: number) => ((v & 255) << 8) | (v >> 8);
  const [w, h, ch, tile] = [10, 3, 2, 4];
  const want = Uint16Array.from({ length: w * h * ch }, (_, i) => (i * 40503 + 12345) & 0xffff);
  // what geotiff.js 3.0.5 returns: the stored differences summed as swapped words, read back swapped
  const got = new Uint16Array(want.length);
  for (let y = 0; y < h; y++) {
    for (let c = 0; c < ch; c++) {
      let prev = 0, sum = 0;
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * ch + c;
        if (x % tile === 0) prev = sum = 0;
        sum = (sum + swap((want[i] - prev) & 0xffff)) & 0xffff;
        prev = want[i];
        got[i] = swap(sum);
      }
    }
  }
  assert(got.some((v, i) => v !== want[i]), "the slip changes samples");
  undoSwappedPredictor(got, w, h, ch, tile);
  assertEquals([...got], [...want]);
});
