/**
 * NIfTI-1 (348-byte) and NIfTI-2 (540-byte) headers: one offset table for
 * both versions, per nifti1.h / nifti2.h, and the generic decoder and
 * encoder it drives; the datatype codes; and the header checks and affine
 * choice of nibabel, turning a header's bytes into a {@linkcode NiftiHeader}.
 *
 * @module
 */
import { type Affine } from "../core/types.ts";
import { identity, quaternionToAffine } from "../geometry/affine.ts";
import { InputError } from "../core/errors.ts";
import type { DataType, NiftiHeader } from "../core/types.ts";

/** How a header field is stored: integers, floats, unsigned bytes, or a NUL-padded latin1 string. */
export type FieldType = "i16" | "i32" | "i64" | "f32" | "f64" | "u8" | "char";

/** One header field: its offset in each version (null where absent), type(s) and element count. */
export interface HeaderField {
  /** The field's name in nifti1.h / nifti2.h. */
  readonly name: string;
  /** Byte offset in the NIfTI-1 header, or null when NIfTI-1 has no such field. */
  readonly n1: number | null;
  /** Byte offset in the NIfTI-2 header, or null when NIfTI-2 has no such field. */
  readonly n2: number | null;
  /** Element type: one for both versions, or [NIfTI-1, NIfTI-2]. */
  readonly type: FieldType | readonly [FieldType, FieldType];
  /** Elements (characters for `char`). */
  readonly count: number;
}

/**
 * Every field of both headers. NIfTI-2's `char magic[8]` is split as
 * nibabel does: `magic` (4, "n+2\0") and `eol_check` (4 bytes, \r\n\032\n).
 * The one-character fields `regular` and `dim_info` are read as bytes (`u8`).
 */
export const HEADER_FIELDS = [
  { name: "sizeof_hdr", n1: 0, n2: 0, type: "i32", count: 1 },
  { name: "data_type", n1: 4, n2: null, type: "char", count: 10 },
  { name: "db_name", n1: 14, n2: null, type: "char", count: 18 },
  { name: "extents", n1: 32, n2: null, type: "i32", count: 1 },
  { name: "session_error", n1: 36, n2: null, type: "i16", count: 1 },
  { name: "regular", n1: 38, n2: null, type: "u8", count: 1 },
  { name: "magic", n1: 344, n2: 4, type: "char", count: 4 },
  { name: "eol_check", n1: null, n2: 8, type: "u8", count: 4 },
  { name: "dim_info", n1: 39, n2: 524, type: "u8", count: 1 },
  { name: "dim", n1: 40, n2: 16, type: ["i16", "i64"], count: 8 },
  { name: "intent_p1", n1: 56, n2: 80, type: ["f32", "f64"], count: 1 },
  { name: "intent_p2", n1: 60, n2: 88, type: ["f32", "f64"], count: 1 },
  { name: "intent_p3", n1: 64, n2: 96, type: ["f32", "f64"], count: 1 },
  { name: "intent_code", n1: 68, n2: 504, type: ["i16", "i32"], count: 1 },
  { name: "datatype", n1: 70, n2: 12, type: "i16", count: 1 },
  { name: "bitpix", n1: 72, n2: 14, type: "i16", count: 1 },
  { name: "slice_start", n1: 74, n2: 224, type: ["i16", "i64"], count: 1 },
  { name: "pixdim", n1: 76, n2: 104, type: ["f32", "f64"], count: 8 },
  { name: "vox_offset", n1: 108, n2: 168, type: ["f32", "i64"], count: 1 },
  { name: "scl_slope", n1: 112, n2: 176, type: ["f32", "f64"], count: 1 },
  { name: "scl_inter", n1: 116, n2: 184, type: ["f32", "f64"], count: 1 },
  { name: "slice_end", n1: 120, n2: 232, type: ["i16", "i64"], count: 1 },
  { name: "slice_code", n1: 122, n2: 496, type: ["u8", "i32"], count: 1 },
  { name: "xyzt_units", n1: 123, n2: 500, type: ["u8", "i32"], count: 1 },
  { name: "cal_max", n1: 124, n2: 192, type: ["f32", "f64"], count: 1 },
  { name: "cal_min", n1: 128, n2: 200, type: ["f32", "f64"], count: 1 },
  { name: "slice_duration", n1: 132, n2: 208, type: ["f32", "f64"], count: 1 },
  { name: "toffset", n1: 136, n2: 216, type: ["f32", "f64"], count: 1 },
  { name: "glmax", n1: 140, n2: null, type: "i32", count: 1 },
  { name: "glmin", n1: 144, n2: null, type: "i32", count: 1 },
  { name: "descrip", n1: 148, n2: 240, type: "char", count: 80 },
  { name: "aux_file", n1: 228, n2: 320, type: "char", count: 24 },
  { name: "qform_code", n1: 252, n2: 344, type: ["i16", "i32"], count: 1 },
  { name: "sform_code", n1: 254, n2: 348, type: ["i16", "i32"], count: 1 },
  { name: "quatern_b", n1: 256, n2: 352, type: ["f32", "f64"], count: 1 },
  { name: "quatern_c", n1: 260, n2: 360, type: ["f32", "f64"], count: 1 },
  { name: "quatern_d", n1: 264, n2: 368, type: ["f32", "f64"], count: 1 },
  { name: "qoffset_x", n1: 268, n2: 376, type: ["f32", "f64"], count: 1 },
  { name: "qoffset_y", n1: 272, n2: 384, type: ["f32", "f64"], count: 1 },
  { name: "qoffset_z", n1: 276, n2: 392, type: ["f32", "f64"], count: 1 },
  { name: "srow_x", n1: 280, n2: 400, type: ["f32", "f64"], count: 4 },
  { name: "srow_y", n1: 296, n2: 432, type: ["f32", "f64"], count: 4 },
  { name: "srow_z", n1: 312, n2: 464, type: ["f32", "f64"], count: 4 },
  { name: "intent_name", n1: 328, n2: 508, type: "char", count: 16 },
  { name: "unused_str", n1: null, n2: 525, type: "char", count: 15 },
] as const satisfies readonly HeaderField[];

/** `sizeof_hdr` of each version. */
export const HEADER_SIZE = { 1: 348, 2: 540 } as const;

/** Bytes per element of each field type. */
export const FIELD_BYTES: Record<FieldType, number> = { i16: 2, i32: 4, i64: 8, f32: 4, f64: 8, u8: 1, char: 1 };

type Field = (typeof HEADER_FIELDS)[number];

/** A header's fields by nifti1.h name: strings for `char`, numbers, or arrays where `count > 1`. */
export type RawHeader = {
  [F in Field as F["name"]]: F["type"] extends "char" ? string : F["count"] extends 1 ? number : number[];
};

/** A field's offset and type in one version, or undefined when that version lacks it. */
export function fieldLayout(f: HeaderField, version: 1 | 2): { at: number; type: FieldType } | undefined {
  const at = version === 1 ? f.n1 : f.n2;
  if (at === null) return undefined;
  return { at, type: typeof f.type === "string" ? f.type : f.type[version - 1] };
}

/** A NUL-terminated latin1 string of at most `len` bytes. */
function cstr(b: Uint8Array, at: number, len: number): string {
  let end = at;
  while (end < at + len && b[end] !== 0) end++;
  return new TextDecoder("latin1").decode(b.subarray(at, end));
}

/** Writes `s` NUL-padded into `len` bytes, the last always NUL when `s` fills them. */
function writeCstr(b: Uint8Array, at: number, len: number, s: string): void {
  for (let k = 0; k < len; k++) b[at + k] = k < s.length ? s.charCodeAt(k) & 0xff : 0;
  b[at + len - 1] = s.length >= len ? 0 : b[at + len - 1];
}

/**
 * Decodes every field of a `version` header (at the start of `view`, which
 * must hold {@linkcode HEADER_SIZE}[version] bytes). Fields the version
 * lacks come back as 0, "" or zeros. 64-bit integers become numbers.
 */
export function decodeHeader(view: DataView, version: 1 | 2, littleEndian: boolean): RawHeader {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const read = (type: FieldType, at: number): number => {
    switch (type) {
      case "i16":
        return view.getInt16(at, littleEndian);
      case "i32":
        return view.getInt32(at, littleEndian);
      case "i64":
        return Number(view.getBigInt64(at, littleEndian));
      case "f32":
        return view.getFloat32(at, littleEndian);
      case "f64":
        return view.getFloat64(at, littleEndian);
      default:
        return view.getUint8(at);
    }
  };
  const out: Record<string, number | number[] | string> = {};
  for (const f of HEADER_FIELDS as readonly HeaderField[]) {
    const l = fieldLayout(f, version);
    if (f.type === "char") out[f.name] = l ? cstr(bytes, l.at, f.count) : "";
    else if (f.count === 1) out[f.name] = l ? read(l.type, l.at) : 0;
    else out[f.name] = Array.from({ length: f.count }, (_, k) => l ? read(l.type, l.at + k * FIELD_BYTES[l.type]) : 0);
  }
  return out as RawHeader;
}

/**
 * Encodes a header of `version` ({@linkcode HEADER_SIZE}[version] bytes).
 * Fields not given, or that the version lacks, are left zero;
 * `sizeof_hdr` defaults to the version's size. Strings are NUL-padded
 * (and cut to leave a NUL); 64-bit integers are truncated.
 */
export function encodeHeader(header: Partial<RawHeader>, version: 1 | 2, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE[version]);
  const view = new DataView(out.buffer);
  const write = (type: FieldType, at: number, x: number): void => {
    switch (type) {
      case "i16":
        return view.setInt16(at, x, littleEndian);
      case "i32":
        return view.setInt32(at, x, littleEndian);
      case "i64":
        return view.setBigInt64(at, BigInt(Number.isFinite(x) ? Math.trunc(x) : 0), littleEndian);
      case "f32":
        return view.setFloat32(at, x, littleEndian);
      case "f64":
        return view.setFloat64(at, x, littleEndian);
      default:
        return view.setUint8(at, x);
    }
  };
  const values: Partial<Record<string, number | readonly number[] | string>> = {
    sizeof_hdr: HEADER_SIZE[version],
    ...header,
  };
  for (const f of HEADER_FIELDS as readonly HeaderField[]) {
    const l = fieldLayout(f, version);
    const x = values[f.name];
    if (!l || x === undefined) continue;
    if (typeof x === "string") writeCstr(out, l.at, f.count, x);
    else if (typeof x === "number") write(l.type, l.at, x);
    else for (let k = 0; k < f.count; k++) write(l.type, l.at + k * FIELD_BYTES[l.type], x[k]);
  }
  return out;
}

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

/** Names of the NIfTI datatypes siamize does not read, for messages. */
const CODE_NAMES: Record<number, string> = {
  1: "binary",
  32: "complex64",
  128: "RGB24",
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "RGBA32",
};

/** Bytes per voxel of each datatype. */
export const DATATYPE_BYTES: Record<DataType, number> = {
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

function fail(path: string, problem: string): never {
  throw new InputError(path, problem);
}

/** A checked header, where its data starts, and the voxel count and dims it gives. */
export interface ParsedHeader {
  header: NiftiHeader;
  offset: number;
  count: number;
  dims: number[];
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

/**
 * Reads and checks the header at the start of `b` (either version, either
 * byte order), as nibabel would: magic, datatype, dims, size; qform/sform
 * codes outside the NIfTI set become 0. `path` is for messages only.
 */
export function parseHeader(path: string, b: Uint8Array): ParsedHeader {
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

  const r = decodeHeader(v, version, le);
  if (r.magic === `ni${version}`) fail(path, "a .hdr/.img pair header; convert it to a single .nii file");
  if (r.magic !== `n+${version}`) fail(path, `not a NIfTI file (bad magic ${JSON.stringify(r.magic)})`);
  const { dim, pixdim } = r;
  const code = r.datatype;
  let voxOffset = r.vox_offset;
  if (!(voxOffset >= HEADER_SIZE[version] + 4)) voxOffset = HEADER_SIZE[version] + 4;
  const h: Omit<NiftiHeader, "version" | "littleEndian" | "datatype" | "dim" | "pixdim"> = {
    sclSlope: r.scl_slope,
    sclInter: r.scl_inter,
    qformCode: r.qform_code,
    sformCode: r.sform_code,
    quatern: [r.quatern_b, r.quatern_c, r.quatern_d],
    qoffset: [r.qoffset_x, r.qoffset_y, r.qoffset_z],
    srow: [r.srow_x, r.srow_y, r.srow_z],
    xyztUnits: r.xyzt_units,
    dimInfo: r.dim_info,
    intentCode: r.intent_code,
    intentName: r.intent_name,
    intentP: [r.intent_p1, r.intent_p2, r.intent_p3],
    sliceCode: r.slice_code,
    sliceStart: r.slice_start,
    sliceEnd: r.slice_end,
    sliceDuration: r.slice_duration,
    toffset: r.toffset,
    calMax: r.cal_max,
    calMin: r.cal_min,
    descrip: r.descrip,
    auxFile: r.aux_file,
  };
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
  if (!Number.isSafeInteger(count * DATATYPE_BYTES[datatype])) fail(path, `image too large (${dims.join("x")})`);
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
