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
import {
  type Affine,
  affineToQuaternion,
  identity,
  isFiniteAffine,
  maxAbsDiff,
  quaternionToAffine,
  voxelSizes,
} from "../geometry/affine.ts";
import { EXIT_NOINPUT, InputError } from "../core/errors.ts";
import type { DataType, NiftiHeader, Volume, VoxelArray } from "../core/types.ts";

// moved to lib/core/types.ts; re-exported so existing importers keep working
export type { DataType, NiftiHeader, Volume, VoxelArray } from "../core/types.ts";
import { errorText, writeFileAtomic } from "../core/fsutil.ts";
import { compress, gunzipAll, isGzip } from "./gzip.ts";

// moved to lib/io/volume.ts; re-exported for the pipeline files and older importers
export { defaultHeader, makeVolume } from "./volume.ts";

/** NIfTI datatype codes by name. */
export const DATATYPE_CODES: Record<DataType, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
  int64: 1024,
  uint64: 1280,
};

const CODE_NAMES: Record<number, string> = {
  1: "binary",
  32: "complex64",
  128: "RGB24",
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "RGBA32",
};

const BYTES: Record<DataType, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
  int64: 8,
  uint64: 8,
};

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

/** Reads the whole file, turning file-system errors into one-line errors. */
async function readRaw(path: string): Promise<Uint8Array> {
  try {
    const st = await Deno.stat(path);
    if (st.isDirectory) throw new InputError(path, "is a directory, not a NIfTI file", EXIT_NOINPUT);
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(path, `cannot read (${errorText(e)})`, EXIT_NOINPUT, { cause: e });
  }
}

/**
 * Gunzips into one buffer, sized from the header once it arrives, so a
 * large file is held once (plus one chunk), not twice.
 */
async function gunzipNifti(path: string, raw: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
  let buf = new Uint8Array(0);
  let used = 0;
  let sized = false;
  try {
    for await (const chunk of stream) {
      if (used + chunk.length > buf.length) {
        let want = Math.max(used + chunk.length, buf.length * 2, 1 << 16);
        if (!sized && used + chunk.length >= 540) {
          // Once the header is in, size the buffer for the whole image.
          const head = new Uint8Array(used + chunk.length);
          head.set(buf.subarray(0, used));
          head.set(chunk, used);
          const expect = expectedSize(head);
          if (expect > raw.length * MAX_DEFLATE_RATIO + 1024) {
            fail(
              path,
              `header claims ${bytesText(expect)} of image, more than ${bytesText(raw.length)} of gzip data can hold`,
            );
          }
          if (expect > want) want = expect;
          sized = true;
        }
        const nb = allocate(path, want);
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
      return await gunzipAll(raw);
    } catch (e) {
      throw new InputError(path, `corrupt or truncated gzip data (${errorText(e)})`, undefined, { cause: e });
    }
  }
  return buf.subarray(0, used);
}

/** deflate's largest possible expansion (1032:1), bounding what a gzip file can hold. */
const MAX_DEFLATE_RATIO = 1032;

/** `1.5 GiB`, `12 MB`, … for messages. */
function bytesText(n: number): string {
  return n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(1)} GiB`
    : n >= 2 ** 20
    ? `${(n / 2 ** 20).toFixed(1)} MiB`
    : `${n} bytes`;
}

/** A zeroed byte buffer, or a one-line error when memory cannot hold it. */
function allocate(path: string, n: number): Uint8Array<ArrayBuffer> {
  try {
    return new Uint8Array(n);
  } catch {
    fail(path, `image needs ${bytesText(n)}, more than memory allows`);
  }
}

/** Bytes a NIfTI file with this header should have, or 0 if unknown. */
function expectedSize(b: Uint8Array): number {
  try {
    const h = parseHeader("", b);
    return h.offset + h.count * BYTES[h.header.datatype];
  } catch {
    return 0;
  }
}

interface Parsed {
  header: NiftiHeader;
  offset: number;
  count: number;
  dims: number[];
}

function cstr(b: Uint8Array, at: number, len: number): string {
  let end = at;
  while (end < at + len && b[end] !== 0) end++;
  return new TextDecoder("latin1").decode(b.subarray(at, end));
}

/** NIfTI qform/sform codes: unknown, scanner, aligned, Talairach, MNI 152, template (NIfTI 2019). */
const VALID_XFORM_CODES = new Set([0, 1, 2, 3, 4, 5]);

/**
 * Checks that the quaternion the qform uses is a rotation (b²+c²+d² ≤ 1,
 * with nibabel's float32 tolerance): nibabel refuses others, and reading on
 * would scale the voxel sizes.
 */
export function checkQuaternion(path: string, h: NiftiHeader): void {
  if (h.sformCode > 0 || h.qformCode <= 0) return;
  const [b, c, d] = h.quatern;
  const n2 = b * b + c * c + d * d;
  if (!(n2 <= 1 + 3 * 2 ** -23)) {
    fail(path, `invalid qform: quaternion (b, c, d) = (${h.quatern.join(", ")}) has b²+c²+d² = ${n2.toFixed(4)} > 1`);
  }
}

function parseHeader(path: string, b: Uint8Array): Parsed {
  if (b.length === 0) fail(path, "empty file");
  if (b.length < 348) fail(path, `not a NIfTI file (only ${b.length} bytes, a header needs 348)`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let le = true;
  let version: 1 | 2;
  const s = v.getInt32(0, true);
  const sb = v.getInt32(0, false);
  if (s === 348 || s === 540) version = s === 348 ? 1 : 2;
  else if (sb === 348 || sb === 540) {
    version = sb === 348 ? 1 : 2;
    le = false;
  } else fail(path, `not a NIfTI file (sizeof_hdr is ${s}, expected 348 or 540)`);
  if (version === 2 && b.length < 540) fail(path, `truncated NIfTI-2 header (${b.length} of 540 bytes)`);

  const i16 = (o: number) => v.getInt16(o, le);
  const i32 = (o: number) => v.getInt32(o, le);
  const i64 = (o: number) => Number(v.getBigInt64(o, le));
  const f32 = (o: number) => v.getFloat32(o, le);
  const f64 = (o: number) => v.getFloat64(o, le);

  let magic: string;
  let dim: number[], pixdim: number[];
  let h: Omit<NiftiHeader, "version" | "littleEndian" | "datatype" | "dim" | "pixdim">;
  let code: number;
  let voxOffset: number;
  if (version === 1) {
    magic = cstr(b, 344, 4);
    if (magic === "ni1") fail(path, "a .hdr/.img pair header; convert it to a single .nii file");
    if (magic !== "n+1") fail(path, `not a NIfTI file (bad magic ${JSON.stringify(magic)})`);
    dim = Array.from({ length: 8 }, (_, k) => i16(40 + 2 * k));
    pixdim = Array.from({ length: 8 }, (_, k) => f32(76 + 4 * k));
    code = i16(70);
    voxOffset = f32(108);
    if (!(voxOffset >= 352)) voxOffset = 352;
    h = {
      sclSlope: f32(112),
      sclInter: f32(116),
      qformCode: i16(252),
      sformCode: i16(254),
      quatern: [f32(256), f32(260), f32(264)],
      qoffset: [f32(268), f32(272), f32(276)],
      srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((k) => f32(280 + 16 * r + 4 * k))),
      xyztUnits: b[123],
      dimInfo: b[39],
      intentCode: i16(68),
      intentName: cstr(b, 328, 16),
      intentP: [f32(56), f32(60), f32(64)],
      sliceCode: b[122],
      sliceStart: i16(74),
      sliceEnd: i16(120),
      sliceDuration: f32(132),
      toffset: f32(136),
      calMax: f32(124),
      calMin: f32(128),
      descrip: cstr(b, 148, 80),
      auxFile: cstr(b, 228, 24),
    };
  } else {
    magic = cstr(b, 4, 8);
    if (magic === "ni2") fail(path, "a .hdr/.img pair header; convert it to a single .nii file");
    if (magic !== "n+2") fail(path, `not a NIfTI file (bad magic ${JSON.stringify(magic)})`);
    dim = Array.from({ length: 8 }, (_, k) => i64(16 + 8 * k));
    pixdim = Array.from({ length: 8 }, (_, k) => f64(104 + 8 * k));
    code = i16(12);
    voxOffset = i64(168);
    if (!(voxOffset >= 544)) voxOffset = 544;
    h = {
      sclSlope: f64(176),
      sclInter: f64(184),
      qformCode: i32(344),
      sformCode: i32(348),
      quatern: [f64(352), f64(360), f64(368)],
      qoffset: [f64(376), f64(384), f64(392)],
      srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((k) => f64(400 + 32 * r + 8 * k))),
      xyztUnits: i32(500),
      dimInfo: b[524],
      intentCode: i32(504),
      intentName: cstr(b, 508, 16),
      intentP: [f64(80), f64(88), f64(96)],
      sliceCode: i32(496),
      sliceStart: i64(224),
      sliceEnd: i64(232),
      sliceDuration: f64(208),
      toffset: f64(216),
      calMax: f64(192),
      calMin: f64(200),
      descrip: cstr(b, 240, 80),
      auxFile: cstr(b, 320, 24),
    };
  }
  const datatype = (Object.keys(DATATYPE_CODES) as DataType[]).find((k) => DATATYPE_CODES[k] === code);
  if (!datatype) fail(path, `unsupported datatype ${code}${CODE_NAMES[code] ? ` (${CODE_NAMES[code]})` : ""}`);

  const ndim = dim[0];
  if (!(ndim >= 1 && ndim <= 7)) fail(path, `invalid number of dimensions dim[0]=${ndim}`);
  for (let k = 1; k <= ndim; k++) {
    if (!(dim[k] > 0)) fail(path, `invalid dimension dim[${k}]=${dim[k]}`);
  }
  const sizes = Array.from({ length: 7 }, (_, k) => (k + 1 <= ndim ? dim[k + 1] : 1));
  const volumes = sizes.slice(3).reduce((a, c) => a * c, 1);
  const dims = sizes.slice(0, 3);
  if (volumes > 1) dims.push(volumes);
  const count = dims.reduce((a, c) => a * c, 1);
  if (!Number.isSafeInteger(count * BYTES[datatype])) fail(path, `image too large (${dims.join("x")})`);
  // As nibabel's header check: a qform/sform code outside the NIfTI set is reset to 0 (unknown).
  if (!VALID_XFORM_CODES.has(h.qformCode)) h.qformCode = 0;
  if (!VALID_XFORM_CODES.has(h.sformCode)) h.sformCode = 0;
  return {
    header: { version, littleEndian: le, datatype, dim, pixdim, ...h },
    offset: Math.floor(voxOffset),
    count,
    dims,
  };
}

/**
 * The affine nibabel would use for this header: sform when
 * `sform_code > 0`, else qform when `qform_code > 0`, else pixdim scaling
 * around the centre with x flipped (nibabel's `get_base_affine`).
 */
export function headerAffine(h: NiftiHeader, dims: number[]): Affine {
  if (h.sformCode > 0) {
    const a = identity();
    for (let r = 0; r < 3; r++) for (let k = 0; k < 4; k++) a[r][k] = h.srow[r][k];
    return a;
  }
  const pix: [number, number, number] = [h.pixdim[1] || 1, h.pixdim[2] || 1, h.pixdim[3] || 1];
  if (h.qformCode > 0) {
    return quaternionToAffine({
      b: h.quatern[0],
      c: h.quatern[1],
      d: h.quatern[2],
      offset: h.qoffset,
      pixdim: pix,
      qfac: h.pixdim[0] < 0 ? -1 : 1,
    });
  }
  const z = [-Math.abs(pix[0]), Math.abs(pix[1]), Math.abs(pix[2])];
  const a = identity();
  for (let k = 0; k < 3; k++) {
    a[k][k] = z[k];
    a[k][3] = -((dims[k] ?? 1) - 1) / 2 * z[k];
  }
  return a;
}

/** Which geometry source {@linkcode headerAffine} used. */
function affineSource(h: NiftiHeader): string {
  return h.sformCode > 0 ? "sform" : h.qformCode > 0 ? "qform" : "pixdim";
}

function decodeData(path: string, b: Uint8Array, p: Parsed): VoxelArray {
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
  const wide = ["float64", "int32", "uint32", "int64", "uint64"].includes(h.datatype);
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
  if (p.dims.length > 3 && !options.allow4D) {
    fail(path, `4-D image with ${p.dims[3]} volumes; give a 3-D volume (one scan)`);
  }
  checkQuaternion(path, p.header);
  const data = decodeData(path, b, p);
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

function writeCstr(b: Uint8Array, at: number, len: number, s: string): void {
  for (let k = 0; k < len; k++) b[at + k] = k < s.length ? s.charCodeAt(k) & 0xff : 0;
  b[at + len - 1] = s.length >= len ? 0 : b[at + len - 1];
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
  const out = new Uint8Array(352 + count * nb);
  const v = new DataView(out.buffer);
  v.setInt32(0, 348, true);
  v.setInt16(40, dims.length, true);
  for (let k = 0; k < 7; k++) v.setInt16(42 + 2 * k, k < dims.length ? dims[k] : 1, true);

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
  v.setFloat32(56, h.intentP[0], true);
  v.setFloat32(60, h.intentP[1], true);
  v.setFloat32(64, h.intentP[2], true);
  v.setInt16(68, options.intentCode ?? 0, true);
  v.setInt16(70, DATATYPE_CODES[dt], true);
  v.setInt16(72, nb * 8, true);
  v.setInt16(74, h.sliceStart, true);
  for (let k = 0; k < 8; k++) v.setFloat32(76 + 4 * k, pixdim[k], true);
  v.setFloat32(108, 352, true);
  v.setFloat32(112, 1, true);
  v.setFloat32(116, 0, true);
  v.setInt16(120, h.sliceEnd, true);
  out[122] = h.sliceCode;
  out[123] = h.xyztUnits || (2 | 8);
  out[39] = h.dimInfo;
  const cal = options.cal ?? [0, 0];
  v.setFloat32(124, cal[1], true);
  v.setFloat32(128, cal[0], true);
  v.setFloat32(132, h.sliceDuration, true);
  v.setFloat32(136, h.toffset, true);
  writeCstr(out, 148, 80, options.descrip ?? h.descrip);
  writeCstr(out, 228, 24, h.auxFile);
  v.setInt16(252, qformCode, true);
  v.setInt16(254, sformCode, true);
  [...quatern, ...qoffset].forEach((x, k) => v.setFloat32(256 + 4 * k, x, true));
  for (let r = 0; r < 3; r++) for (let k = 0; k < 4; k++) v.setFloat32(280 + 16 * r + 4 * k, srow[r][k], true);
  writeCstr(out, 328, 16, options.intentName ?? "");
  writeCstr(out, 344, 4, "n+1");

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
