import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { baseName, imageFormatOf, isRgb, readPromptInput, sniffInputFormat } from "../../lib/prompt/input.ts";
import { toUint8 } from "../../lib/prompt/preprocess.ts";
import { GOLDEN } from "../_fixtures.ts";

const DIR = `${GOLDEN}/images/`;

async function raw16(name: string): Promise<Uint16Array> {
  const b = await Deno.readFile(`${DIR}${name}.ref.raw`);
  return new Uint16Array(b.buffer, b.byteOffset, b.length / 2);
}

Deno.test("prompt input: JPEG and TIFF by content whatever the extension; SAMRI's base names", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "siamize-input-" });
  try {
    const jpg = `${tmp}/scan.dat`, tif = `${tmp}/scan.bin`, txt = `${tmp}/notes.txt`;
    await Deno.copyFile(`${DIR}axial_grey_q90.jpg`, jpg);
    await Deno.copyFile(`${DIR}crop_grey8_none.tif`, tif);
    await Deno.writeTextFile(txt, "hello, not an image");
    assertEquals(await sniffInputFormat(jpg), "jpeg");
    assertEquals(await sniffInputFormat(tif), "tiff");
    assertEquals(await sniffInputFormat(txt), undefined);
    assertEquals(await sniffInputFormat(`${tmp}/broken.jpg`).catch((e) => e.exitCode), 66);
    assertEquals(imageFormatOf(new Uint8Array([0x4d, 0x4d, 0, 42])), "tiff");
    assertEquals((await readPromptInput(jpg)).format, "jpeg");
    assertEquals((await readPromptInput(tif)).format, "tiff");
    await assertRejects(() => readPromptInput(txt), /notes\.txt: unsupported image format: give NIfTI .*JPEG or TIFF/);
    await assertRejects(
      () => readPromptInput(jpg, { axis: 2, index: 0 }),
      /--slice needs a 3-D NIfTI volume, not a JPEG/,
    );
    for (const [p, b] of [["img.jpg", "img"], ["a/b.JPEG", "b"], ["x.tif", "x"], ["y.tiff", "y"]]) {
      assertEquals(baseName(p), b);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("prompt input: skimage's channel rules on TIFF (grey values kept for the min-max; 8-bit RGB kept; 16-bit RGB min-maxed over the whole array)", async () => {
  const g16 = await readPromptInput(`${DIR}crop_grey16_deflate_pred_mm.tif`);
  assert(!isRgb(g16.slice));
  assertEquals([...g16.slice.data], [...await raw16("crop_grey16_deflate_pred_mm")]);
  const rgb8 = await readPromptInput(`${DIR}crop_rgb8_lzw_pred.tif`);
  assert(isRgb(rgb8.slice));
  assertEquals([...rgb8.slice.data], [...await Deno.readFile(`${DIR}crop_rgb8_lzw_pred.ref.raw`)]);
  const rgb16 = await readPromptInput(`${DIR}crop_rgb16_none.tif`);
  assert(isRgb(rgb16.slice));
  const all = await raw16("crop_rgb16_none");
  assertEquals([...rgb16.slice.data], [...toUint8(all)], "one min-max over the three channels");
  const perChannel = toUint8(all.filter((_, i) => i % 3 === 2));
  assert(perChannel.some((v, i) => v !== rgb16.slice.data[3 * i + 2]), "a per-channel min-max would differ");
  const jpg = await readPromptInput(`${DIR}axial_rgb420_q90.jpg`);
  assert(isRgb(jpg.slice));
  assertEquals([...jpg.slice.data], [...await Deno.readFile(`${DIR}axial_rgb420_q90.ref.raw`)], "8-bit RGB kept");
});
