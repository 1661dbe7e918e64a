import { assertEquals } from "../_assert.ts";
import { crc32 } from "../../lib/io/png.ts";
import { compress } from "../../lib/io/gzip.ts";
import { decodePng } from "../../lib/io/png_decode.ts";
import { parseNifti } from "../../lib/io/nifti.ts";
import { encodeNifti } from "../../lib/io/nifti.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { concatBytes } from "../../lib/core/bytes.ts";

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, (crc32(out.subarray(4, 8 + data.length)) ^ 0xffffffff) >>> 0);
  return out;
}

/** A PNG from already-filtered rows (each row starts with its filter byte). */
async function png(w: number, h: number, depth: number, type: number, rows: Uint8Array, extra: Uint8Array[] = []) {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, w);
  new DataView(ihdr.buffer).setUint32(4, h);
  ihdr.set([depth, type, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    ...extra,
    chunk("IDAT", await compress(rows, "deflate")),
    chunk("IEND", new Uint8Array(0)),
  ];
  return concatBytes(parts);
}

Deno.test("PNG decoder: every row filter undone (RGB, 8-bit)", async () => {
  // 2x5 RGB: row 0 filter 1 (sub), rows 1-4 filters 2 (up), 3 (average), 4 (Paeth), 0
  const want = Array.from({ length: 5 * 6 }, (_, i) => (i * 37 + 11) % 256);
  const rows: number[] = [];
  const px = (y: number, i: number) => (y < 0 || i < 0 ? 0 : want[y * 6 + i]);
  const paeth = (a: number, b: number, c: number) => {
    const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
  };
  [1, 2, 3, 4, 0].forEach((f, y) => {
    rows.push(f);
    for (let i = 0; i < 6; i++) {
      const a = px(y, i - 3), b = px(y - 1, i), c = px(y - 1, i - 3), x = px(y, i);
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f];
      rows.push((x - pred + 256) % 256);
    }
  });
  const d = await decodePng(await png(2, 5, 8, 2, new Uint8Array(rows)), "rgb.png");
  assertEquals([d.width, d.height, d.channels, d.bitDepth], [2, 5, 3, 8]);
  assertEquals([...d.data], want);
});

Deno.test("PNG decoder: 16-bit grey is big-endian; palette with transparency expands to RGBA", async () => {
  const g = await decodePng(await png(2, 1, 16, 0, new Uint8Array([0, 0x12, 0x34, 0xff, 0xfe])), "g16.png");
  assertEquals([g.bitDepth, ...g.data], [16, 0x1234, 0xfffe]);
  const plte = chunk("PLTE", new Uint8Array([10, 20, 30, 40, 50, 60]));
  const trns = chunk("tRNS", new Uint8Array([128]));
  const p = await decodePng(await png(2, 1, 8, 3, new Uint8Array([0, 1, 0]), [plte, trns]), "p.png");
  assertEquals([p.channels, ...p.data], [4, 40, 50, 60, 255, 10, 20, 30, 128]);
  let msg = "";
  await decodePng(await png(1, 1, 8, 4, new Uint8Array([0, 1, 2])), "la.png").then(() => {}, (e) => msg = e.message);
  assertEquals(msg, "", "grey+alpha decodes (the prompt input refuses it)");
});

Deno.test("NIfTI read with float64: scaled in double as nibabel's get_fdata()", async () => {
  const v = makeVolume(Int16Array.from([-3, 0, 7, 1000]), [4, 1, 1]);
  const bytes = encodeNifti(v, { datatype: "int16" });
  const dv = new DataView(bytes.buffer);
  dv.setFloat32(112, 0.1, true); // scl_slope
  dv.setFloat32(116, -50, true); // scl_inter
  const f64 = await parseNifti("s.nii", bytes, { float64: true });
  const slope = Math.fround(0.1);
  assertEquals(f64.data instanceof Float64Array, true);
  assertEquals([...f64.data], [-3, 0, 7, 1000].map((x) => x * slope - 50));
  const f32 = await parseNifti("s.nii", bytes);
  assertEquals(f32.data instanceof Float32Array, true);
});
