/**
 * TIFF decoding for prompt inputs through geotiff.js (`npm:geotiff`, pinned
 * in deno.json; pure JavaScript): uncompressed, LZW, deflate and PackBits
 * strips or tiles, with or without the horizontal predictor, either byte
 * order, 8- or 16-bit unsigned samples, 1 (grey), 3 (RGB) or 4 (RGBA)
 * samples per pixel, chunky or planar. Samples come back raw, as tifffile
 * (skimage's TIFF reader, so SAMRI's) returns them: no MinIsWhite
 * inversion, no palette lookup. One page only: tifffile stacks the pages
 * of a multi-page file into an (N, H, W) array, which SAMRI refuses.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { DecodedPng } from "./png_decode.ts";

/** A decoded TIFF page: the shape of {@link DecodedPng}. */
export type DecodedTiff = DecodedPng;

/** Whether bytes start like a TIFF or BigTIFF (`II*\0`, `MM\0*`, `II+\0`, `MM\0+`). */
export function isTiff(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const [a, b, c, d] = bytes;
  if (a === 0x49 && b === 0x49) return (c === 42 || c === 43) && d === 0;
  if (a === 0x4d && b === 0x4d) return c === 0 && (d === 42 || d === 43);
  return false;
}

const COMPRESSIONS: Record<number, string> = { 1: "none", 5: "LZW", 8: "deflate", 32946: "deflate", 32773: "PackBits" };

const swap = (v: number): number => ((v & 255) << 8) | (v >> 8);

/**
 * geotiff.js 3.0.5 undoes the horizontal predictor of a big-endian 16-bit
 * file on little-endian words, then reads the words big-endian: each sample
 * comes back as `swap(Σ swap(d))` of the stored differences `d`. This
 * recovers `d` and sums them right, per row and channel, restarting at each
 * strip's or tile's left edge (`segment` columns): exact, and tested on a
 * libtiff-written file.
 */
export function undoSwappedPredictor(
  data: Uint16Array,
  width: number,
  height: number,
  channels: number,
  segment: number,
): void {
  for (let y = 0; y < height; y++) {
    for (let c = 0; c < channels; c++) {
      let prevSum = 0, value = 0;
      for (let x = 0; x < width; x++) {
        if (x % segment === 0) prevSum = value = 0;
        const i = (y * width + x) * channels + c, sum = swap(data[i]);
        value = (value + swap((sum - prevSum) & 0xffff)) & 0xffff;
        prevSum = sum;
        data[i] = value;
      }
    }
  }
}

interface Ifd {
  getValue(tag: string): unknown;
  loadValue(tag: string): Promise<unknown>;
  hasTag(tag: string): boolean;
}

interface Image {
  fileDirectory: Ifd;
  getWidth(): number;
  getHeight(): number;
  getSamplesPerPixel(): number;
  readRasters(o: { interleave: true }): Promise<ArrayLike<number>>;
}

/**
 * Decodes the one page of a TIFF file; `path` names the file in errors
 * (exit 65): not a TIFF, truncated, several pages, another compression,
 * bit depth or sample format, grey+alpha, CMYK/YCbCr/Lab.
 *
 * @example
 * ```ts ignore
 * import { decodeTiff } from "./tiff_decode.ts";
 *
 * const img = await decodeTiff(await Deno.readFile("slice.tif"), "slice.tif");
 * console.log(img.width, img.height, img.channels, img.bitDepth); // 217 181 1 16
 * ```
 */
export async function decodeTiff(bytes: Uint8Array, path: string): Promise<DecodedTiff> {
  const fail = (m: string): never => {
    throw new InputError(path, m, 65);
  };
  if (!isTiff(bytes)) fail("not a TIFF file");
  const { fromArrayBuffer } = await import("npm:geotiff@3.0.5");
  const buffer = bytes.slice().buffer;
  let image: Image;
  try {
    const tiff = await fromArrayBuffer(buffer);
    const pages = await tiff.getImageCount();
    if (pages > 1) {
      fail(`multi-page TIFF (${pages} pages) is not supported: skimage reads it as one ${pages}-slice stack`);
    }
    image = await tiff.getImage(0) as unknown as Image;
  } catch (e) {
    if (e instanceof InputError) throw e;
    return fail(`truncated or corrupt TIFF structure (${(e as Error).message})`);
  }
  const fd = image.fileDirectory;
  const width = image.getWidth(), height = image.getHeight(), spp = image.getSamplesPerPixel();
  const size = `a ${width}x${height} TIFF`;
  if (!(width > 0 && height > 0)) fail(`bad TIFF size ${width}x${height}`);
  const compression = Number(fd.getValue("Compression") ?? 1);
  if (!(compression in COMPRESSIONS)) {
    fail(`TIFF compression ${compression} is not supported (none, LZW, deflate, PackBits)`);
  }
  const bits = Array.from(fd.getValue("BitsPerSample") as ArrayLike<number> ?? [1]);
  const formats = Array.from(fd.getValue("SampleFormat") as ArrayLike<number> ?? [1]);
  const depth = bits[0];
  if (bits.some((b) => b !== depth) || (depth !== 8 && depth !== 16)) {
    fail(`unsupported TIFF bit depth ${bits.join(",")} in ${size} (8 or 16)`);
  }
  if (formats.some((f) => f !== 1)) {
    fail(`unsupported TIFF sample format ${formats.join(",")} (unsigned integers only)`);
  }
  const photometric = Number(fd.getValue("PhotometricInterpretation") ?? (spp >= 3 ? 2 : 1));
  if (spp === 2) fail(`unsupported channel count 2 (grey+alpha) in ${size}`);
  if (spp !== 1 && spp !== 3 && spp !== 4) fail(`unsupported channel count ${spp} in ${size}`);
  if (spp > 1 && photometric !== 2) {
    fail(`unsupported TIFF photometric interpretation ${photometric} with ${spp} samples (RGB only)`);
  }
  const tiled = fd.hasTag("TileOffsets");
  const offsets = await fd.loadValue(tiled ? "TileOffsets" : "StripOffsets") as ArrayLike<number | bigint>;
  const counts = await fd.loadValue(tiled ? "TileByteCounts" : "StripByteCounts") as ArrayLike<number | bigint>;
  if (!offsets || !counts || offsets.length !== counts.length) fail("TIFF strips without offsets or byte counts");
  for (let i = 0; i < offsets.length; i++) {
    if (Number(offsets[i]) + Number(counts[i]) > bytes.length) fail(`truncated TIFF file (${size})`);
  }
  let raster: ArrayLike<number>;
  try {
    raster = await image.readRasters({ interleave: true });
  } catch (e) {
    return fail(`corrupt TIFF data in ${size} (${(e as Error).message})`);
  }
  if (raster.length !== width * height * spp) fail(`decoder gave ${raster.length} samples for ${size}`);
  const data = depth === 8 ? Uint8Array.from(raster) : Uint16Array.from(raster);
  if (depth === 16 && bytes[0] === 0x4d && Number(fd.getValue("Predictor") ?? 1) === 2) {
    const segment = tiled ? Number(fd.getValue("TileWidth")) : width;
    undoSwappedPredictor(data as Uint16Array, width, height, spp, segment);
  }
  return { width, height, channels: spp, bitDepth: depth as 8 | 16, data };
}
