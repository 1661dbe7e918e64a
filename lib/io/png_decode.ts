/**
 * A small PNG decoder for prompt inputs: grey, grey+alpha, RGB and RGBA at
 * 8 or 16 bits, and 8-bit palette images (expanded to RGB/RGBA as
 * imageio does), non-interlaced; zlib through the runtime's native stream.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { decompress } from "./gzip.ts";

/** A decoded PNG: `height` rows of `width` pixels of `channels` samples, row-major. */
export interface DecodedPng {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Samples per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  /** Bits per sample (8 or 16). */
  bitDepth: 8 | 16;
  /** Samples (Uint16Array for 16-bit images). */
  data: Uint8Array | Uint16Array;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes PNG bytes; `path` names the file in errors (exit 65).
 *
 * @example
 * ```ts
 * import { encodeGreyPng } from "./png.ts";
 * import { decodePng } from "./png_decode.ts";
 *
 * const png = await decodePng(await encodeGreyPng(2, 1, new Uint8Array([0, 255])), "x.png");
 * console.log(png.width, png.channels, [...png.data]); // 2 1 [0, 255]
 * ```
 */
export async function decodePng(bytes: Uint8Array, path: string): Promise<DecodedPng> {
  const fail = (m: string): never => {
    throw new InputError(path, m, 65);
  };
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (bytes.length < 8 || sig.some((b, i) => bytes[i] !== b)) fail("not a PNG file");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8, width = 0, height = 0, depth = 0, type = -1, interlace = 0;
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | undefined, trns: Uint8Array | undefined;
  while (at + 8 <= bytes.length) {
    const len = v.getUint32(at);
    const name = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + len);
    if (body.length < len) fail(`truncated ${name} chunk`);
    if (name === "IHDR") {
      width = v.getUint32(at + 8);
      height = v.getUint32(at + 12);
      depth = body[8];
      type = body[9];
      interlace = body[12];
    } else if (name === "PLTE") palette = body;
    else if (name === "tRNS") trns = body;
    else if (name === "IDAT") idat.push(body);
    else if (name === "IEND") break;
    at += 12 + len;
  }
  if (!(width > 0 && height > 0)) fail("no image header (IHDR)");
  if (!(type in CHANNELS)) fail(`unsupported PNG colour type ${type}`);
  if (interlace !== 0) fail("interlaced PNG is not supported");
  if (type === 3 ? depth !== 8 : depth !== 8 && depth !== 16) fail(`unsupported PNG bit depth ${depth} (8 or 16)`);
  if (type === 3 && !palette) fail("palette image without a palette");
  const joined = new Uint8Array(idat.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of idat) joined.set(c, o), o += c.length;
  let raw: Uint8Array;
  try {
    raw = await decompress(joined, "deflate");
  } catch {
    return fail("corrupt image data");
  }
  const ch = CHANNELS[type], bpp = ch * depth / 8, stride = width * bpp;
  if (raw.length < height * (stride + 1)) fail("truncated image data");
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? px[row + i - bpp] : 0, b = y > 0 ? px[row - stride + i] : 0;
      const c = i >= bpp && y > 0 ? px[row - stride + i - bpp] : 0;
      let x = src[i];
      if (f === 1) x += a;
      else if (f === 2) x += b;
      else if (f === 3) x += (a + b) >> 1;
      else if (f === 4) x += paeth(a, b, c);
      else if (f !== 0) fail(`bad filter type ${f} in row ${y}`);
      px[row + i] = x & 255;
    }
  }
  if (type === 3) {
    const alpha = trns !== undefined;
    const n = alpha ? 4 : 3, out = new Uint8Array(width * height * n);
    for (let i = 0; i < width * height; i++) {
      const k = px[i];
      if (3 * k + 2 >= palette!.length) fail(`palette index ${k} out of range`);
      out.set(palette!.subarray(3 * k, 3 * k + 3), i * n);
      if (alpha) out[i * n + 3] = k < trns!.length ? trns![k] : 255;
    }
    return { width, height, channels: n, bitDepth: 8, data: out };
  }
  if (depth === 8) return { width, height, channels: ch, bitDepth: 8, data: px };
  const out = new Uint16Array(width * height * ch);
  for (let i = 0; i < out.length; i++) out[i] = (px[2 * i] << 8) | px[2 * i + 1];
  return { width, height, channels: ch, bitDepth: 16, data: out };
}
