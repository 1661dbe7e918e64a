/**
 * Reading a prompt input as SAMRI's `load_file` does: NIfTI through our
 * reader in float64 (nibabel's `get_fdata()`), 2-D images by SAMRI's shape
 * rules or a slice of a 3-D volume; PNG through our decoder, with
 * skimage's channel rules (grey min-max to uint8; RGB kept when 8-bit,
 * min-max over the whole array when 16-bit; alpha dropped; grey+alpha refused).
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { Volume } from "../core/types.ts";
import { readNifti } from "../io/nifti.ts";
import { decodePng } from "../io/png_decode.ts";
import type { U8Image } from "./pillow_resize.ts";
import { type Slice2D, toUint8 } from "./preprocess.ts";
import { sliceOf2D, type SliceRef, takeSlice } from "./slice.ts";

/** A prompt input, read. */
export interface PromptInput {
  /** The path as given. */
  path: string;
  /** `nifti` or `png`. */
  format: "nifti" | "png";
  /** The NIfTI volume (float64 values), for writing masks on its grid. */
  volume?: Volume;
  /** Where the slice sits in the volume's array (NIfTI only). */
  ref?: SliceRef;
  /** The slice: grey values, or an 8-bit RGB image (PNG colour inputs). */
  slice: Slice2D | U8Image;
}

/** Whether a slice is an 8-bit RGB image rather than grey values. */
export function isRgb(s: Slice2D | U8Image): s is U8Image {
  return "channels" in s;
}

/** SAMRI's base name: `case001.nii.gz` → `case001`, `img.png` → `img`. */
export function baseName(path: string): string {
  const b = path.split(/[\\/]/).pop() ?? path;
  if (b.endsWith(".nii.gz")) return b.slice(0, -7);
  const dot = b.lastIndexOf(".");
  return dot > 0 ? b.slice(0, dot) : b;
}

/** The format of an input path by extension, or undefined. */
export function inputFormat(path: string): "nifti" | "png" | undefined {
  const l = path.toLowerCase();
  if (l.endsWith(".nii") || l.endsWith(".nii.gz")) return "nifti";
  if (l.endsWith(".png")) return "png";
  return undefined;
}

/** A 3-D (or 2-D) NIfTI volume in float64, for slicing. */
export function readVolume64(path: string): Promise<Volume> {
  return readNifti(path, { float64: true });
}

/** Reads the image and takes its slice (`slice` for a 3-D volume; SAMRI's 2-D rules otherwise). */
export async function readPromptInput(path: string, slice?: SliceRef): Promise<PromptInput> {
  const format = inputFormat(path);
  if (format === "nifti") {
    const volume = await readVolume64(path);
    if (slice) return { path, format, volume, ref: slice, slice: takeSlice(volume, slice, path) };
    const s = sliceOf2D(volume, path);
    return { path, format, volume, ref: s.ref, slice: s.slice };
  }
  if (format !== "png") throw new InputError(path, "unsupported image format: give NIfTI (.nii, .nii.gz) or PNG", 65);
  if (slice) throw new InputError(path, "--slice needs a 3-D NIfTI volume, not a PNG", 64);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError(path, "no such file", 66);
    throw new InputError(path, `cannot read (${(e as Error).message})`, 66);
  }
  const png = await decodePng(bytes, path);
  const { width, height, channels } = png;
  if (channels === 1) {
    return { path, format, slice: { width, height, data: Float64Array.from(png.data) } };
  }
  if (channels === 2) {
    throw new InputError(path, `unsupported channel count 2 (grey+alpha) in a ${width}x${height} PNG`, 65);
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
