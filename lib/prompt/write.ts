/**
 * Writing masks as SAMRI does — `(1, H, W)` uint8 NIfTI with an identity
 * affine (sform code 2, qform code 0, as `nib.Nifti1Image(m, np.eye(4))`)
 * and an H x W greyscale PNG with 0/255 — or on the grid of a 3-D input
 * (same dims, affine and header), set on the segmented slices only.
 *
 * @module
 */
import type { Volume } from "../core/types.ts";
import { identity } from "../geometry/affine.ts";
import { compress } from "../io/gzip.ts";
import { encodeNifti } from "../io/nifti.ts";
import { encodeGreyPng } from "../io/png.ts";
import { defaultHeader, makeVolume } from "../io/volume.ts";
import { putSlice } from "./slice.ts";

/** File bytes of SAMRI's `<base>_seg_.nii.gz`: the (H, W) row-major mask as a (1, H, W) uint8 NIfTI (gzipped when `gzip`). */
export async function samriNifti(mask: Uint8Array, height: number, width: number, gzip = true): Promise<Uint8Array> {
  const data = putSlice(new Uint8Array(height * width), [1, height, width], { axis: 0, index: 0 }, mask);
  const header = { ...defaultHeader(identity()), qformCode: 0, sformCode: 2, xyztUnits: 0 };
  const vol = makeVolume(data, [1, height, width], identity(), header);
  const bytes = encodeNifti(vol, { datatype: "uint8" });
  return gzip ? await compress(bytes) : bytes;
}

/** File bytes of SAMRI's `<base>_seg_.png`: H x W, mode L, 0/255. */
export function samriPng(mask: Uint8Array, height: number, width: number): Promise<Uint8Array> {
  const grey = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) grey[i] = mask[i] ? 255 : 0;
  return encodeGreyPng(width, height, grey);
}

/** File bytes of a uint8 mask on a 3-D input's grid (gzipped when `gzip`). */
export async function gridNifti(input: Volume, mask: Uint8Array, gzip: boolean): Promise<Uint8Array> {
  const dims = input.dims.slice(0, 3);
  const vol = makeVolume(mask, dims, input.affine, input.header);
  const bytes = encodeNifti(vol, { datatype: "uint8", descrip: "siamize prompt mask" });
  return gzip ? await compress(bytes) : bytes;
}
