/**
 * NIfTI-1 / NIfTI-2 reading and NIfTI-1 writing, `.nii` and `.nii.gz`.
 *
 * Reading follows nibabel: data scaled by `scl_slope`/`scl_inter` (a slope
 * of 0 or non-finite means none), affine from the sform when
 * `sform_code > 0`, else the qform, else pixdim scaling. Writing keeps the
 * source header's geometry (qform, sform, codes, pixdim, units) so outputs
 * overlay their input in any viewer, and is atomic.
 *
 * @module
 */
import { affineToQuaternion, isFiniteAffine, maxAbsDiff, voxelSizes } from "../geometry/affine.ts";
import { EXIT_NOINPUT, InputError } from "../core/errors.ts";
import type { DataType, NiftiHeader, Volume, VoxelArray } from "../core/types.ts";
import {
  checkQuaternion,
  DATATYPE_BYTES as BYTES,
  DATATYPE_CODES,
  encodeHeader,
  headerAffine,
  type ParsedHeader as Parsed,
  parseHeader,
} from "./nifti_header.ts";

import { errorText, writeFileAtomic } from "../core/fsutil.ts";
import { compress, gunzipBounded, inflateChunks, InflateLimitError, isGzip, MAX_DEFLATE_RATIO } from "./gzip.ts";
import { bytesText, ceilingText, checkInputFile, maxInputBytes } from "../core/limits.ts";

// moved to lib/io/nifti_header.ts (the offset table and the header checks); re-exported here
export { checkQuaternion, DATATYPE_CODES, headerAffine } from "./nifti_header.ts";

/** Typed-array constructors by datatype name (the 64-bit integer types have none). */
export const ARRAY_TYPES = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

function fail(path: string, problem: string): never {
  throw new InputError(path, problem);
}

/**
 * Reads the whole file, turning file-system errors into one-line errors.
 * Only regular files are read (a device such as `/dev/zero` or a FIFO is
 * refused before it is opened), and none larger than the input ceiling.
 */
async function readRaw(path: string): Promise<Uint8Array> {
  try {
    await checkInputFile(path, "NIfTI");
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(path, `cannot read (${errorText(e)})`, EXIT_NOINPUT, { cause: e });
  }
}

/** Inflated bytes tolerated past the end of the image the header declares (padding). */
const TRAILING_SLACK = 2 ** 20;

/**
 * Gunzips into one buffer, sized from the header once it arrives, so a
 * large file is held once (plus one chunk), not twice. Stops as soon as
 * the output passes what the header declares (plus {@linkcode TRAILING_SLACK}),
 * and refuses a header declaring more than the ceiling or than the gzip
 * data can hold, before allocating.
 */
async function gunzipNifti(path: string, raw: Uint8Array): Promise<Uint8Array> {
  let buf = new Uint8Array(0);
  let used = 0;
  let limit = Infinity;
  const tooLong = (expect: number) =>
    fail(path, `gzip data goes on past the ${bytesText(expect)} its header declares (a decompression bomb?)`);
  try {
    for await (const chunk of inflateChunks(raw, "gzip")) {
      if (used + chunk.length > limit) tooLong(limit - TRAILING_SLACK);
      if (used + chunk.length > buf.length) {
        let want = Math.max(used + chunk.length, buf.length * 2, 1 << 16);
        if (limit === Infinity && used + chunk.length >= 540) {
          // Once the header is in, size the buffer for the whole image.
          const head = new Uint8Array(used + chunk.length);
          head.set(buf.subarray(0, used));
          head.set(chunk, used);
          const { total: expect, voxels } = expectedSize(head);
          if (expect === 0) return head; // not a header: parseHeader says why
          checkDeclared(path, expect, voxels, raw.length);
          limit = expect + TRAILING_SLACK;
          if (used + chunk.length > limit) tooLong(expect);
          if (expect > want) want = expect;
        }
        const nb = allocate(path, Math.min(want, limit));
        nb.set(buf.subarray(0, used));
        buf = nb;
      }
      buf.set(chunk, used);
      used += chunk.length;
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    // Not one plain member: several members, zero padding, or corruption.
    buf = new Uint8Array(0);
    try {
      return await gunzipBounded(raw, limit);
    } catch (e) {
      if (e instanceof InflateLimitError) tooLong(limit - TRAILING_SLACK);
      throw new InputError(path, `corrupt or truncated gzip data (${errorText(e)})`, undefined, { cause: e });
    }
  }
  return buf.subarray(0, used);
}

/** Refuses a declared file size above the ceiling or above what `zipped` bytes of deflate can hold. */
function checkDeclared(path: string, expect: number, voxels: number, zipped: number): void {
  if (expect > zipped * MAX_DEFLATE_RATIO + 1024) {
    fail(path, `header claims ${bytesText(expect)} of image, more than ${bytesText(zipped)} of gzip data can hold`);
  }
  if (voxels > maxInputBytes()) {
    fail(path, `header declares ${bytesText(voxels)} of image data; ${ceilingText()}`);
  }
}

/** A zeroed byte buffer, or a one-line error when memory cannot hold it. */
function allocate(path: string, n: number): Uint8Array<ArrayBuffer> {
  try {
    return new Uint8Array(n);
  } catch {
    fail(path, `image needs ${bytesText(n)}, more than memory allows`);
  }
}

/** Bytes a NIfTI file with this header should have (and of them, voxel bytes), or 0 if unknown. */
function expectedSize(b: Uint8Array): { total: number; voxels: number } {
  try {
    const h = parseHeader("", b);
    const voxels = h.count * BYTES[h.header.datatype];
    return { total: h.offset + voxels, voxels };
  } catch {
    return { total: 0, voxels: 0 };
  }
}

/** Which geometry source {@linkcode headerAffine} used. */
function affineSource(h: NiftiHeader): string {
  return h.sformCode > 0 ? "sform" : h.qformCode > 0 ? "qform" : "pixdim";
}

function decodeData(path: string, b: Uint8Array, p: Parsed, float64 = false): VoxelArray {
  const { header: h, offset, count } = p;
  const nbytes = count * BYTES[h.datatype];
  if (b.length < offset + nbytes) {
    fail(
      path,
      `truncated data section: the header claims ${
        p.dims.join("x")
      } ${h.datatype} (${nbytes} bytes after offset ${offset}), the file holds ${Math.max(0, b.length - offset)}`,
    );
  }
  const v = new DataView(b.buffer, b.byteOffset + offset, nbytes);
  const le = h.littleEndian;
  let slope = h.sclSlope, inter = h.sclInter;
  if (slope === 0 || !Number.isFinite(slope)) {
    slope = 1;
    inter = 0;
  } else if (!Number.isFinite(inter)) fail(path, `valid scl_slope ${slope} with non-finite scl_inter`);
  const wide = float64 || ["float64", "int32", "uint32", "int64", "uint64"].includes(h.datatype);
  let out: Float32Array | Float64Array;
  try {
    out = wide ? new Float64Array(count) : new Float32Array(count);
  } catch {
    fail(
      path,
      `image of ${p.dims.join("x")} voxels needs ${bytesText(count * (wide ? 8 : 4))}, more than memory allows`,
    );
  }
  if (le && h.datatype !== "int64" && h.datatype !== "uint64") {
    // Native little-endian: view the bytes as the stored type (copy only if misaligned).
    const Ctor = ARRAY_TYPES[h.datatype];
    const at = b.byteOffset + offset;
    const src = at % BYTES[h.datatype] === 0
      ? new Ctor(b.buffer as ArrayBuffer, at, count)
      : new Ctor(b.slice(offset, offset + nbytes).buffer, 0, count);
    if (slope === 1 && inter === 0) out.set(src);
    else for (let i = 0; i < count; i++) out[i] = src[i] * slope + inter;
    return out;
  }
  const read: (i: number) => number = {
    uint8: (i: number) => v.getUint8(i),
    int8: (i: number) => v.getInt8(i),
    int16: (i: number) => v.getInt16(2 * i, le),
    uint16: (i: number) => v.getUint16(2 * i, le),
    int32: (i: number) => v.getInt32(4 * i, le),
    uint32: (i: number) => v.getUint32(4 * i, le),
    float32: (i: number) => v.getFloat32(4 * i, le),
    float64: (i: number) => v.getFloat64(8 * i, le),
    int64: (i: number) => Number(v.getBigInt64(8 * i, le)),
    uint64: (i: number) => Number(v.getBigUint64(8 * i, le)),
  }[h.datatype];
  for (let i = 0; i < count; i++) out[i] = read(i) * slope + inter;
  return out;
}

/**
 * Parses a NIfTI file already in memory (gzipped or not). `path` is used in
 * error messages only.
 */
export async function parseNifti(path: string, raw: Uint8Array, options: ReadOptions = {}): Promise<Volume> {
  if (raw.length === 0) fail(path, "empty file");
  const b = isGzip(raw) ? await gunzipNifti(path, raw) : raw;
  const p = parseHeader(path, b);
  const declared = p.count * BYTES[p.header.datatype];
  // (a declared size the file does not hold is reported as truncation by decodeData)
  if (declared > maxInputBytes() && b.length >= p.offset + declared) {
    fail(path, `header declares ${p.dims.join("x")} ${p.header.datatype} (${bytesText(declared)}); ${ceilingText()}`);
  }
  if (p.dims.length > 3 && !options.allow4D) {
    fail(path, `4-D image with ${p.dims[3]} volumes; give a 3-D volume (one scan)`);
  }
  checkQuaternion(path, p.header);
  const data = decodeData(path, b, p, options.float64);
  const affine = headerAffine(p.header, p.dims);
  if (!isFiniteAffine(affine)) fail(path, `non-finite affine (from the ${affineSource(p.header)})`);
  const vs = voxelSizes(affine);
  if (vs.some((s) => s === 0)) fail(path, `singular affine (from the ${affineSource(p.header)})`);
  const pixdim = [...vs];
  if (p.dims.length === 4) pixdim.push(p.header.pixdim[4] || 1);
  return { dims: p.dims, affine, pixdim, data, header: p.header };
}

/**
 * Reads a `.nii` / `.nii.gz` file (NIfTI-1 or -2, either byte order).
 * Dimensions beyond the third are folded into one 4th (volumes).
 * Errors are {@linkcode InputError}s whose one-line message names the file.
 */
export async function readNifti(path: string, options: ReadOptions = {}): Promise<Volume> {
  return parseNifti(path, await readRaw(path), options);
}

/** Options for reading. */
export interface ReadOptions {
  /**
   * Accept images with several volumes (returned as 4-D, e.g. probability
   * maps). Otherwise only 3-D images (or 4-D with one volume) are accepted.
   * @default false
   */
  allow4D?: boolean;
  /**
   * Values as float64 whatever the stored type (scaled in double, as
   * nibabel's `get_fdata()`); otherwise float32 unless float32 would lose
   * precision. @default false
   */
  float64?: boolean;
}

/** Options for writing a volume. */
export interface WriteOptions {
  /** Stored datatype. @default "float32" (or "uint8" for a Uint8Array) */
  datatype?: DataType;
  /** `intent_code` to store (1002 = label map). @default 0 */
  intentCode?: number;
  /** `intent_name` to store. */
  intentName?: string;
  /** `descrip` to store (80 characters at most). */
  descrip?: string;
  /** Display range `cal_min`/`cal_max`. @default [0, 0] */
  cal?: [number, number];
  /** gzip the file; default: by extension (`.gz`). */
  gzip?: boolean;
}

/**
 * Encodes a volume as a NIfTI-1 single file (uncompressed bytes). The
 * source header's qform/sform and codes are kept verbatim when the
 * volume's affine is the header's; otherwise both are set to the new affine
 * (codes kept, or 2 = aligned when the source had none).
 */
export function encodeNifti(vol: Volume, options: WriteOptions = {}): Uint8Array {
  const dt: DataType = options.datatype ?? (vol.data instanceof Uint8Array ? "uint8" : "float32");
  const h = vol.header;
  const dims = vol.dims;
  if (dims.length < 3 || dims.length > 4) throw new RangeError(`cannot write ${dims.length}-D volume`);
  if (dims.some((d) => d > 32767)) throw new RangeError(`dimension over 32767 cannot be stored in NIfTI-1`);
  const count = dims.reduce((a, c) => a * c, 1);
  if (vol.data.length !== count) throw new RangeError(`data has ${vol.data.length} values, dims need ${count}`);
  const nb = BYTES[dt];
  const sameGeometry = maxAbsDiff(headerAffine(h, dims), vol.affine) < 1e-6;
  let qformCode = h.qformCode, sformCode = h.sformCode;
  let quatern = h.quatern, qoffset = h.qoffset, srow = h.srow;
  let pix3 = [h.pixdim[1], h.pixdim[2], h.pixdim[3]];
  let qfac = h.pixdim[0] < 0 ? -1 : 1;
  if (!sameGeometry) {
    const q = affineToQuaternion(vol.affine);
    quatern = [q.b, q.c, q.d];
    qoffset = q.offset;
    qfac = q.qfac;
    pix3 = q.pixdim;
    srow = vol.affine.slice(0, 3).map((r) => r.slice());
    sformCode = sformCode > 0 ? sformCode : qformCode > 0 ? qformCode : 2;
    qformCode = qformCode > 0 ? qformCode : sformCode;
  }
  const pixdim = [qfac, ...pix3, dims.length > 3 ? (vol.pixdim[3] || 1) : (h.pixdim[4] || 1), 1, 1, 1];
  const cal = options.cal ?? [0, 0];
  const out = new Uint8Array(352 + count * nb);
  out.set(encodeHeader(
    {
      dim_info: h.dimInfo,
      dim: [dims.length, ...Array.from({ length: 7 }, (_, k) => k < dims.length ? dims[k] : 1)],
      intent_p1: h.intentP[0],
      intent_p2: h.intentP[1],
      intent_p3: h.intentP[2],
      intent_code: options.intentCode ?? 0,
      datatype: DATATYPE_CODES[dt],
      bitpix: nb * 8,
      slice_start: h.sliceStart,
      pixdim,
      vox_offset: 352,
      scl_slope: 1,
      scl_inter: 0,
      slice_end: h.sliceEnd,
      slice_code: h.sliceCode,
      xyzt_units: h.xyztUnits || (2 | 8),
      cal_max: cal[1],
      cal_min: cal[0],
      slice_duration: h.sliceDuration,
      toffset: h.toffset,
      descrip: options.descrip ?? h.descrip,
      aux_file: h.auxFile,
      qform_code: qformCode,
      sform_code: sformCode,
      quatern_b: quatern[0],
      quatern_c: quatern[1],
      quatern_d: quatern[2],
      qoffset_x: qoffset[0],
      qoffset_y: qoffset[1],
      qoffset_z: qoffset[2],
      srow_x: srow[0],
      srow_y: srow[1],
      srow_z: srow[2],
      intent_name: options.intentName ?? "",
      magic: "n+1",
    },
    1,
    true,
  ));

  const d = new DataView(out.buffer, 352);
  const src = vol.data;
  switch (dt) {
    case "uint8":
      if (src instanceof Uint8Array) out.set(src, 352);
      else for (let i = 0; i < count; i++) d.setUint8(i, clampRound(src[i], 0, 255));
      break;
    case "int8":
      for (let i = 0; i < count; i++) d.setInt8(i, clampRound(src[i], -128, 127));
      break;
    case "int16":
      for (let i = 0; i < count; i++) d.setInt16(2 * i, clampRound(src[i], -32768, 32767), true);
      break;
    case "uint16":
      for (let i = 0; i < count; i++) d.setUint16(2 * i, clampRound(src[i], 0, 65535), true);
      break;
    case "int32":
      for (let i = 0; i < count; i++) d.setInt32(4 * i, clampRound(src[i], -2147483648, 2147483647), true);
      break;
    case "uint32":
      for (let i = 0; i < count; i++) d.setUint32(4 * i, clampRound(src[i], 0, 4294967295), true);
      break;
    case "float32":
      if (src instanceof Float32Array) out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), 352);
      else for (let i = 0; i < count; i++) d.setFloat32(4 * i, src[i], true);
      break;
    case "float64":
      for (let i = 0; i < count; i++) d.setFloat64(8 * i, src[i], true);
      break;
    case "int64":
      for (let i = 0; i < count; i++) d.setBigInt64(8 * i, BigInt(Math.round(src[i])), true);
      break;
    case "uint64":
      for (let i = 0; i < count; i++) d.setBigUint64(8 * i, BigInt(Math.max(0, Math.round(src[i]))), true);
      break;
  }
  return out;
}

function clampRound(x: number, lo: number, hi: number): number {
  const r = Math.round(x);
  return r < lo ? lo : r > hi ? hi : Number.isNaN(r) ? 0 : r;
}

/**
 * Writes a volume as NIfTI-1 (`.nii`, or gzipped for `.nii.gz`),
 * atomically: a temp file in the same folder, then a rename.
 */
export async function writeNifti(path: string, vol: Volume, options: WriteOptions = {}): Promise<void> {
  const bytes = encodeNifti(vol, options);
  const gz = options.gzip ?? path.toLowerCase().endsWith(".gz");
  await writeFileAtomic(path, gz ? await compress(bytes) : bytes);
}
