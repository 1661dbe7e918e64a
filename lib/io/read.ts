/**
 * Format dispatch for volumes: NIfTI (`.nii`, `.nii.gz`) or JNIfTI (`.jnii`,
 * `.bnii`), by extension.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { encodeJnifti, type JniftiWriteOptions, readJnifti, writeJnifti } from "./jnifti.ts";
import { encodeNifti, readNifti, type ReadOptions, writeNifti, type WriteOptions } from "./nifti.ts";
import { compress } from "./gzip.ts";
import { isDicomInput, readDicomVolume } from "./dicom.ts";
import { type Volume } from "../core/types.ts";

/** Volume file formats. */
export type VolumeFormat = "nii" | "jnii" | "bnii";

/** The format of a path by its extension, or undefined. */
export function formatOf(path: string): VolumeFormat | undefined {
  const l = path.toLowerCase();
  if (l.endsWith(".nii") || l.endsWith(".nii.gz")) return "nii";
  if (l.endsWith(".jnii")) return "jnii";
  if (l.endsWith(".bnii")) return "bnii";
  return undefined;
}

/**
 * Reads NIfTI or JNIfTI by extension, a DICOM series (a folder, a zip or
 * a DICOM file holding one series, by content; or a series path of a
 * batch), else NIfTI.
 */
export async function readVolume(path: string, options: ReadOptions = {}): Promise<Volume> {
  const f = formatOf(path);
  if (!f && await isDicomInput(path)) return readDicomVolume(path);
  if (f === "jnii" || f === "bnii") {
    const v = await readJnifti(path);
    if (v.dims.length > 3 && !options.allow4D) {
      throw new InputError(path, `4-D image with ${v.dims[3]} volumes; give a 3-D volume (one scan)`);
    }
    return v;
  }
  return readNifti(path, options);
}

/** Options for {@linkcode writeVolume}. */
export type VolumeWriteOptions = WriteOptions & JniftiWriteOptions & { format?: VolumeFormat };

/** Writes NIfTI or JNIfTI (by `format`, else by extension), atomically. */
export async function writeVolume(path: string, vol: Volume, options: VolumeWriteOptions = {}): Promise<void> {
  const f = options.format ?? formatOf(path) ?? "nii";
  if (f === "nii") await writeNifti(path, vol, options);
  else await writeJnifti(path, vol, jniftiOptions(options, f));
}

function jniftiOptions(options: VolumeWriteOptions, f: VolumeFormat): JniftiWriteOptions & { binary: boolean } {
  const dt = options.datatype;
  return {
    ...options,
    datatype: dt === "uint8" || dt === "int16" || dt === "float32" ? dt : undefined,
    binary: f === "bnii",
  };
}

/**
 * The bytes {@linkcode writeVolume} would write to `path` (NIfTI gzipped
 * for `.gz`, or JNIfTI), for callers that stage several files together.
 */
export async function encodeVolume(path: string, vol: Volume, options: VolumeWriteOptions = {}): Promise<Uint8Array> {
  const f = options.format ?? formatOf(path) ?? "nii";
  if (f !== "nii") {
    const o = jniftiOptions(options, f);
    return encodeJnifti(vol, o.binary, o);
  }
  const bytes = encodeNifti(vol, options);
  return (options.gzip ?? path.toLowerCase().endsWith(".gz")) ? await compress(bytes) : bytes;
}
