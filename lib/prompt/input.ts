/**
 * Reading a prompt input as SAMRI's `load_file` does: NIfTI through our
 * reader in float64 (nibabel's `get_fdata()`), 2-D images by SAMRI's shape
 * rules or a slice of a 3-D volume; PNG, JPEG and TIFF (recognised by their
 * first bytes, else by extension) through `lib/io`'s decoders, with SAMRI's
 * channel rules on what skimage returns (grey min-max to uint8; RGB kept
 * when 8-bit, min-max over the whole array when 16-bit; alpha dropped;
 * grey+alpha refused). What is made of the bytes read is
 * `prompt_input.ts`'s (no file system; the browser tab uses it too).
 *
 * @module
 */
import { readFileHead } from "../core/fsutil.ts";
import { InputError } from "../core/errors.ts";
import type { Volume } from "../core/types.ts";
import { readNifti } from "../io/nifti.ts";
import { decodeJpeg, isJpeg } from "../io/jpeg_decode.ts";
import { type DecodedPng, decodePng } from "../io/png_decode.ts";
import { decodeTiff, isTiff } from "../io/tiff_decode.ts";
import type { SliceRef } from "./slice.ts";
import { imagePromptInput, type InputFormat, type PromptInput, volumePromptInput } from "./prompt_input.ts";

export { type InputFormat, isRgb, type PromptInput } from "./prompt_input.ts";

/** SAMRI's base name: `case001.nii.gz` → `case001`, `img.png` → `img`. */
export function baseName(path: string): string {
  const b = path.split(/[\\/]/).pop() ?? path;
  if (b.endsWith(".nii.gz")) return b.slice(0, -7);
  const dot = b.lastIndexOf(".");
  return dot > 0 ? b.slice(0, dot) : b;
}

/** The format of an input path by extension, or undefined. */
export function inputFormat(path: string): InputFormat | undefined {
  const l = path.toLowerCase();
  if (l.endsWith(".nii") || l.endsWith(".nii.gz")) return "nifti";
  if (l.endsWith(".png")) return "png";
  if (l.endsWith(".jpg") || l.endsWith(".jpeg")) return "jpeg";
  if (l.endsWith(".tif") || l.endsWith(".tiff")) return "tiff";
  return undefined;
}

/** The image format of bytes by their first bytes (PNG, JPEG, TIFF), or undefined. */
export function imageFormatOf(bytes: Uint8Array): "png" | "jpeg" | "tiff" | undefined {
  const png = [137, 80, 78, 71, 13, 10, 26, 10];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return "png";
  if (isJpeg(bytes)) return "jpeg";
  if (isTiff(bytes)) return "tiff";
  return undefined;
}

/**
 * The format of an input file: NIfTI by extension; an image by its first
 * bytes, else by extension (the decoder then says what is wrong); undefined
 * for anything else. A missing file is exit 66.
 */
export async function sniffInputFormat(path: string): Promise<InputFormat | undefined> {
  const byName = inputFormat(path);
  if (byName === "nifti") return byName;
  return imageFormatOf(await readHead(path, 8)) ?? byName;
}

async function readHead(path: string, n: number): Promise<Uint8Array> {
  try {
    return await readFileHead(path, n);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError(path, "no such file", 66);
    throw new InputError(path, `cannot read (${(e as Error).message})`, 66);
  }
}

const UNSUPPORTED = "unsupported image format: give NIfTI (.nii, .nii.gz), PNG, JPEG or TIFF";

/** A 3-D (or 2-D) NIfTI volume in float64, for slicing. */
export function readVolume64(path: string): Promise<Volume> {
  return readNifti(path, { float64: true });
}

/** Reads the image and takes its slice (`slice` for a 3-D volume; SAMRI's 2-D rules otherwise). */
export async function readPromptInput(path: string, slice?: SliceRef): Promise<PromptInput> {
  const format = await sniffInputFormat(path);
  if (format === "nifti") return volumePromptInput(path, await readVolume64(path), slice);
  if (!format) throw new InputError(path, UNSUPPORTED, 65);
  if (slice) throw new InputError(path, `--slice needs a 3-D NIfTI volume, not a ${format.toUpperCase()}`, 64);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError(path, "no such file", 66);
    throw new InputError(path, `cannot read (${(e as Error).message})`, 66);
  }
  const png: DecodedPng = format === "png"
    ? await decodePng(bytes, path)
    : format === "jpeg"
    ? await decodeJpeg(bytes, path)
    : await decodeTiff(bytes, path);
  return imagePromptInput(path, format, png);
}
