/**
 * A prompt input from what was read — a NIfTI volume (float64) or a decoded
 * image — by SAMRI's rules: a slice `vol.take(index, axis)` of a 3-D
 * volume, or SAMRI's 2-D shapes; an image's channels as skimage returns
 * them (grey values; RGB kept when 8-bit, min-max over the whole array when
 * 16-bit; alpha dropped; grey+alpha refused). No file system: `input.ts`
 * (files) and the browser tab (picked files' bytes) share it.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { Volume } from "../core/types.ts";
import type { DecodedPng } from "../io/png_decode.ts";
import type { U8Image } from "./pillow_resize.ts";
import { type Slice2D, toUint8 } from "./preprocess.ts";
import { sliceOf2D, type SliceRef, takeSlice } from "./slice.ts";

/** The formats `siamize prompt` reads. */
export type InputFormat = "nifti" | "png" | "jpeg" | "tiff";

/** A prompt input, read. */
export interface PromptInput {
  /** The path as given. */
  path: string;
  /** The format read. */
  format: InputFormat;
  /** The NIfTI volume (float64 values), for writing masks on its grid. */
  volume?: Volume;
  /** Where the slice sits in the volume's array (NIfTI only). */
  ref?: SliceRef;
  /** The slice: grey values, or an 8-bit RGB image (colour inputs). */
  slice: Slice2D | U8Image;
}

/** Whether a slice is an 8-bit RGB image rather than grey values. */
export function isRgb(s: Slice2D | U8Image): s is U8Image {
  return "channels" in s;
}

/** A NIfTI volume (read in float64) as a prompt input: its slice `slice` (3-D), else SAMRI's 2-D image. */
export function volumePromptInput(path: string, volume: Volume, slice?: SliceRef): PromptInput {
  if (slice) return { path, format: "nifti", volume, ref: slice, slice: takeSlice(volume, slice, path) };
  const s = sliceOf2D(volume, path);
  return { path, format: "nifti", volume, ref: s.ref, slice: s.slice };
}

/** A decoded PNG, JPEG or TIFF as a prompt input, by SAMRI's channel rules; throws naming `path` for grey+alpha. */
export function imagePromptInput(path: string, format: Exclude<InputFormat, "nifti">, png: DecodedPng): PromptInput {
  const { width, height, channels } = png;
  if (channels === 1) {
    return { path, format, slice: { width, height, data: Float64Array.from(png.data) } };
  }
  if (channels === 2) {
    const kind = format.toUpperCase();
    throw new InputError(path, `unsupported channel count 2 (grey+alpha) in a ${width}x${height} ${kind}`, 65);
  }
  const rgb = new Uint8Array(width * height * 3);
  let values: ArrayLike<number> = png.data;
  if (channels === 4) {
    const drop = png.bitDepth === 8 ? new Uint8Array(width * height * 3) : new Uint16Array(width * height * 3);
    for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) drop[3 * i + c] = png.data[4 * i + c];
    values = drop;
  }
  // SAMRI keeps 8-bit RGB as it is and min-maxes any other dtype over the whole array.
  rgb.set(png.bitDepth === 8 ? values as Uint8Array : toUint8(values));
  return { path, format, slice: { width, height, channels: 3, data: rgb } };
}
