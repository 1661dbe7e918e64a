/**
 * JPEG decoding for prompt inputs through libjpeg-turbo itself, compiled to
 * WebAssembly (`@cornerstonejs/codec-libjpeg-turbo-8bit`, pinned in
 * deno.json): the library Pillow (and so skimage/imageio, SAMRI's reader)
 * links, with its defaults (ISLOW IDCT, fancy upsampling), so the pixels
 * are libjpeg-turbo's. Our own marker walk checks the frame first and names
 * what is not read: 12-bit and lossless JPEG, CMYK/YCCK.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { DecodedPng } from "./png_decode.ts";

/** A decoded JPEG: the shape of {@link DecodedPng} (8-bit, 1 grey or 3 RGB channels). */
export type DecodedJpeg = DecodedPng;

/** The frame header of a JPEG, read without decoding. */
export interface JpegFrame {
  /** The SOF marker's low nibble: 0 baseline, 1 extended, 2 progressive, 3 lossless, 9-11 arithmetic. */
  process: number;
  /** Sample precision in bits. */
  precision: number;
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Components in the frame. */
  components: number;
}

interface Decoder {
  getEncodedBuffer(n: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; componentCount: number; bitsPerSample: number };
  delete(): void;
}

let codec: Promise<{ JPEGDecoder: new () => Decoder }> | undefined;

/**
 * The WASM module, loaded once. The package is named by its full `npm:`
 * specifier (as `_dcm2niix.ts` does), so it resolves when siamize is
 * imported by path from outside the checkout.
 */
function loadCodec(): Promise<{ JPEGDecoder: new () => Decoder }> {
  codec ??= import("npm:@cornerstonejs/codec-libjpeg-turbo-8bit@1.2.8/decodewasmjs").then((m) =>
    (m.default as () => Promise<{ JPEGDecoder: new () => Decoder }>)()
  );
  return codec;
}

/** Whether bytes start like a JPEG (SOI then a marker: `FF D8 FF`). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Walks the markers up to the first frame header (SOF); `path` names the file in errors (exit 65).
 *
 * @example
 * ```ts
 * import { jpegFrame } from "./jpeg_decode.ts";
 *
 * const sof = [0xff, 0xc0, 0, 11, 8, 0, 2, 0, 3, 1, 1, 0x11, 0];
 * console.log(jpegFrame(new Uint8Array([0xff, 0xd8, ...sof]), "x.jpg")); // { process: 0, precision: 8, width: 3, height: 2, components: 1 }
 * ```
 */
export function jpegFrame(bytes: Uint8Array, path: string): JpegFrame {
  const fail = (m: string): never => {
    throw new InputError(path, m, 65);
  };
  if (!isJpeg(bytes)) fail("not a JPEG file");
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) fail(`bad JPEG marker at byte ${at}`);
    const m = bytes[at + 1];
    if (m === 0xff) {
      at++;
      continue;
    }
    const len = (bytes[at + 2] << 8) | bytes[at + 3];
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (at + 10 > bytes.length) break;
      return {
        process: m & 15,
        precision: bytes[at + 4],
        height: (bytes[at + 5] << 8) | bytes[at + 6],
        width: (bytes[at + 7] << 8) | bytes[at + 8],
        components: bytes[at + 9],
      };
    }
    if (m === 0xd9 || m === 0xda) fail("no frame header (SOF) before the image data");
    at += 2 + len;
  }
  return fail("truncated JPEG file (no frame header)");
}

/**
 * Decodes JPEG bytes with libjpeg-turbo's defaults; `path` names the file in
 * errors (exit 65): not a JPEG, truncated or corrupt data (libjpeg-turbo's
 * warnings are errors here, as a truncated file is to Pillow), 12-bit or
 * lossless JPEG, CMYK/YCCK.
 *
 * @example
 * ```ts ignore
 * import { decodeJpeg } from "./jpeg_decode.ts";
 *
 * const img = await decodeJpeg(await Deno.readFile("slice.jpg"), "slice.jpg");
 * console.log(img.width, img.height, img.channels); // 217 181 1
 * ```
 */
export async function decodeJpeg(bytes: Uint8Array, path: string): Promise<DecodedJpeg> {
  const f = jpegFrame(bytes, path);
  const fail = (m: string): never => {
    throw new InputError(path, m, 65);
  };
  if (f.process === 3 || f.process === 11) fail("lossless JPEG is not supported");
  if (f.precision !== 8) fail(`${f.precision}-bit JPEG is not supported (8-bit only)`);
  if (f.components === 4) fail("CMYK/YCCK JPEG is not supported (SAMRI would drop the fourth channel as alpha)");
  if (f.components !== 1 && f.components !== 3) fail(`unsupported JPEG with ${f.components} components`);
  if (!(f.width > 0 && f.height > 0)) fail(`bad JPEG size ${f.width}x${f.height}`);
  const { JPEGDecoder } = await loadCodec();
  const dec = new JPEGDecoder();
  try {
    dec.getEncodedBuffer(bytes.length).set(bytes);
    try {
      dec.decode();
    } catch {
      fail(`corrupt or truncated JPEG data in a ${f.width}x${f.height} image`);
    }
    const info = dec.getFrameInfo();
    const channels = info.componentCount;
    const data = dec.getDecodedBuffer().slice();
    if (info.width !== f.width || info.height !== f.height || data.length !== f.width * f.height * channels) {
      fail(`decoder gave ${info.width}x${info.height}x${channels} for a ${f.width}x${f.height} JPEG`);
    }
    return { width: f.width, height: f.height, channels, bitDepth: 8, data };
  } finally {
    dec.delete();
  }
}
