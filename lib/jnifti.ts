/**
 * JNIfTI: NIfTI as JSON (`.jnii`, zlib + base64 payload) or binary JData
 * (`.bnii`, zlib payload), per the NeuroJSON JNIfTI specification.
 * `NIFTIHeader` carries the geometry (Affine = sform rows, QForm/SForm codes,
 * quaternion, voxel size) and an optional JGIFTI-style label table at
 * `NIFTIHeader._DataInfo_.LabelTable`; `NIFTIData` is a JData array
 * annotation in row-major order of `_ArraySize_` = [X, Y, Z(, C)], which is
 * what NeuroJSON's readers load as `array[x, y, z]`.
 *
 * @module
 */
import { type Affine, affineToQuaternion, det3, identity } from "./affine.ts";
import { type BJValue, decodeBJData, encodeBJData, type Endian } from "./bjdata.ts";
import { EXIT_NOINPUT, InputError } from "./errors.ts";
import { errorText, writeFileAtomic } from "./fsutil.ts";
import { compress, decompress } from "./gzip.ts";
import type { ClassInfo } from "./model_card.ts";
import {
  ARRAY_TYPES,
  type DataType,
  defaultHeader,
  headerAffine,
  makeVolume,
  type Volume,
  type VoxelArray,
} from "./nifti.ts";

/** Options for writing JNIfTI. */
export interface JniftiWriteOptions {
  /** Stored type. @default "uint8" for a Uint8Array, else "float32" */
  datatype?: "uint8" | "int16" | "float32";
  /** Byte-shuffle the payload before zlib (`_ArrayShuffle_`). @default false */
  shuffle?: boolean;
  /** Label table for `NIFTIHeader._DataInfo_.LabelTable`. */
  labels?: ClassInfo[];
  /** `Description`. */
  description?: string;
  /** NIfTI intent code (1002 = labels). */
  intentCode?: number;
  /**
   * Byte order of `.bnii` numbers: "little" (BJData Draft 2, the current
   * spec) or "big" (Draft 1, for readers such as Debian 12's python3-bjdata).
   * @default "little"
   */
  endian?: Endian;
}

const ARRAYS = ARRAY_TYPES;
type ArrayTypeName = keyof typeof ARRAYS;

/** Reorders x-fastest data of `dims` into row-major order of `dims` (last index fastest), or back. */
export function transposeOrder<T extends VoxelArray>(data: T, dims: number[], toRowMajor: boolean): T {
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const n = dims.length;
  // Column-major strides (x fastest) and row-major strides (last fastest).
  const col = new Array(n).fill(1), row = new Array(n).fill(1);
  for (let k = 1; k < n; k++) col[k] = col[k - 1] * dims[k - 1];
  for (let k = n - 2; k >= 0; k--) row[k] = row[k + 1] * dims[k + 1];
  const idx = new Array(n).fill(0);
  for (let i = 0; i < data.length; i++) {
    let r = 0;
    for (let k = 0; k < n; k++) r += idx[k] * row[k];
    if (toRowMajor) out[r] = data[i];
    else out[i] = data[r];
    for (let k = 0; k < n; k++) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** Byte shuffle: all first bytes of the elements, then all second bytes, … */
export function shuffleBytes(b: Uint8Array, size: number, inverse = false): Uint8Array {
  if (size <= 1) return b;
  const n = b.length / size;
  const out = new Uint8Array(b.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < size; k++) {
      if (inverse) out[i * size + k] = b[k * n + i];
      else out[k * n + i] = b[i * size + k];
    }
  }
  return out;
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function unitName(code: number): string {
  return ({ 1: "m", 2: "mm", 3: "um" } as Record<number, string>)[code & 7] ?? "";
}

/** The NIFTIHeader object of a volume. */
function niftiHeader(vol: Volume, type: ArrayTypeName, o: JniftiWriteOptions): Record<string, BJValue> {
  const q = affineToQuaternion(vol.affine);
  const codes = vol.header;
  const labels = o.labels;
  const h: Record<string, BJValue> = {
    NIIHeaderSize: 348,
    Dim: [...vol.dims],
    Intent: o.intentCode ?? 0,
    DataType: type,
    BitDepth: ARRAYS[type].BYTES_PER_ELEMENT * 8,
    VoxelSize: vol.pixdim.slice(0, vol.dims.length),
    Unit: { L: unitName(codes.xyztUnits) || "mm", T: "s" },
    ScaleSlope: 1,
    ScaleOffset: 0,
    Description: o.description ?? codes.descrip,
    QForm: codes.qformCode > 0 ? codes.qformCode : 2,
    SForm: codes.sformCode > 0 ? codes.sformCode : 2,
    Quatern: { b: q.b, c: q.c, d: q.d },
    QuaternOffset: { x: q.offset[0], y: q.offset[1], z: q.offset[2] },
    QFac: q.qfac,
    Affine: vol.affine.slice(0, 3).map((r) => [...r]),
    NIIFormat: "jnifti",
  };
  if (labels) {
    h._DataInfo_ = {
      LabelTable: {
        Key: labels.map((c) => c.index),
        Label: labels.map((c) => c.name),
        RGBA: labels.map((c) => c.color.map((x) => Math.round((x / 255) * 1e4) / 1e4)),
      },
    };
  }
  return h;
}

/** Builds the JNIfTI document; `binary` leaves the payload as bytes, else base64. */
async function buildDocument(vol: Volume, o: JniftiWriteOptions, binary: boolean): Promise<Record<string, BJValue>> {
  const type: ArrayTypeName = o.datatype ?? (vol.data instanceof Uint8Array ? "uint8" : "float32");
  const Ctor = ARRAYS[type];
  const typed = vol.data instanceof Ctor ? vol.data : Ctor.from(vol.data as ArrayLike<number>);
  const rowMajor = transposeOrder(typed as VoxelArray, vol.dims, true);
  let bytes = new Uint8Array(rowMajor.buffer, rowMajor.byteOffset, rowMajor.byteLength);
  if (o.shuffle) bytes = shuffleBytes(bytes, Ctor.BYTES_PER_ELEMENT);
  const zipped = await compress(bytes, "deflate");
  const data: Record<string, BJValue> = {
    _ArrayType_: type,
    _ArraySize_: [...vol.dims],
    _ArrayZipType_: "zlib",
    _ArrayZipSize_: [...vol.dims],
    _ArrayZipData_: binary ? zipped : toBase64(zipped),
  };
  if (o.shuffle) data._ArrayShuffle_ = Ctor.BYTES_PER_ELEMENT;
  return { NIFTIHeader: niftiHeader(vol, type, o), NIFTIData: data };
}

/** Encodes a volume as `.jnii` (text) or `.bnii` (binary) bytes. */
export async function encodeJnifti(vol: Volume, binary: boolean, o: JniftiWriteOptions = {}): Promise<Uint8Array> {
  const doc = await buildDocument(vol, o, binary);
  return binary ? encodeBJData(doc, o.endian) : new TextEncoder().encode(JSON.stringify(doc) + "\n");
}

/** Writes `.jnii` / `.bnii` (by extension unless `binary` is given), atomically. */
export async function writeJnifti(
  path: string,
  vol: Volume,
  o: JniftiWriteOptions & { binary?: boolean } = {},
): Promise<void> {
  const binary = o.binary ?? path.toLowerCase().endsWith(".bnii");
  await writeFileAtomic(path, await encodeJnifti(vol, binary, o));
}

function fail(path: string, problem: string): never {
  throw new InputError(path, problem);
}

/** Whether an affine looks like one a scanner wrote (finite, invertible, sane sizes). */
function plausible(a: Affine): boolean {
  const flat = a.slice(0, 3).flat();
  if (!flat.every((x) => Number.isFinite(x) && Math.abs(x) < 1e7)) return false;
  return Math.abs(det3(a.slice(0, 3).map((r) => r.slice(0, 3)))) > 1e-9;
}

/**
 * Parses JNIfTI bytes (text or binary, detected by content). Binary files
 * are read as little-endian BJData (Draft 2); when that gives no plausible
 * affine, as big-endian (Draft 1).
 */
export async function parseJnifti(path: string, raw: Uint8Array): Promise<Volume> {
  if (raw.length === 0) fail(path, "empty file");
  const first = raw.findIndex((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  const text = first >= 0 && raw[first] === 0x7b && raw[first + 1] !== undefined &&
    /[\s"}]/.test(String.fromCharCode(raw[first + 1]));
  if (text) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(new TextDecoder().decode(raw));
    } catch (e) {
      fail(path, `not a JNIfTI file (${errorText(e)})`);
    }
    return fromDocument(path, doc);
  }
  let firstError: unknown;
  for (const endian of ["little", "big"] as const) {
    try {
      const v = await fromDocument(path, decodeBJData(raw, endian) as Record<string, unknown>);
      if (plausible(v.affine) || endian === "big") return v;
    } catch (e) {
      firstError ??= e;
    }
  }
  if (firstError instanceof InputError) throw firstError;
  fail(path, `not a JNIfTI file (${errorText(firstError)})`);
}

async function fromDocument(path: string, doc: Record<string, unknown>): Promise<Volume> {
  const hdr = doc?.NIFTIHeader as Record<string, unknown> | undefined;
  const nd = doc?.NIFTIData as Record<string, unknown> | undefined;
  if (!hdr || !nd) fail(path, "not a JNIfTI file (no NIFTIHeader/NIFTIData)");
  const type = String(nd._ArrayType_ ?? "") as ArrayTypeName;
  const Ctor = ARRAYS[type];
  if (!Ctor) fail(path, `unsupported _ArrayType_ "${type}"`);
  const dims = (nd._ArraySize_ as number[] | undefined)?.map(Number) ?? (hdr.Dim as number[]).map(Number);
  if (!dims?.length || dims.some((d) => !(d > 0))) fail(path, `invalid _ArraySize_ ${JSON.stringify(dims)}`);
  const n = dims.reduce((a, c) => a * c, 1);
  let values: VoxelArray;
  if (nd._ArrayZipData_ !== undefined) {
    let zipped: Uint8Array;
    const zd = nd._ArrayZipData_;
    if (typeof zd === "string") zipped = fromBase64(zd);
    else if (zd instanceof Uint8Array) zipped = zd;
    else fail(path, "_ArrayZipData_ must be a string or bytes");
    const zt = String(nd._ArrayZipType_ ?? "zlib");
    if (zt !== "zlib" && zt !== "gzip") fail(path, `unsupported _ArrayZipType_ "${zt}"`);
    let bytes: Uint8Array;
    try {
      bytes = await decompress(zipped, zt === "zlib" ? "deflate" : "gzip");
    } catch (e) {
      fail(path, `corrupt ${zt} payload (${errorText(e)})`);
    }
    const size = Ctor.BYTES_PER_ELEMENT;
    if (bytes.length !== n * size) {
      fail(path, `payload has ${bytes.length} bytes, ${dims.join("x")} ${type} needs ${n * size}`);
    }
    if (nd._ArrayShuffle_) bytes = shuffleBytes(bytes, size, true);
    const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
    values = new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, n);
  } else if (Array.isArray(nd._ArrayData_)) {
    const flat = (nd._ArrayData_ as unknown[]).flat(Infinity) as number[];
    if (flat.length !== n) fail(path, `_ArrayData_ has ${flat.length} values, ${dims.join("x")} needs ${n}`);
    values = Ctor.from(flat);
  } else fail(path, "NIFTIData has neither _ArrayZipData_ nor _ArrayData_");
  const order = String(nd._ArrayOrder_ ?? "r").toLowerCase();
  const columnMajor = order === "f" || order === "col" || order === "column";
  const data = columnMajor ? values : transposeOrder(values, dims, false);
  // Geometry: SForm rows when SForm > 0, else the quaternion, else voxel sizes.
  const header = defaultHeader(identity());
  header.datatype = type as DataType;
  const sform = Number(hdr.SForm ?? 0), qform = Number(hdr.QForm ?? 0);
  const vs = ((hdr.VoxelSize as number[] | undefined) ?? [1, 1, 1]).map(Number);
  header.pixdim = [Number(hdr.QFac ?? 1) < 0 ? -1 : 1, vs[0] ?? 1, vs[1] ?? 1, vs[2] ?? 1, vs[3] ?? 1, 1, 1, 1];
  header.sformCode = sform;
  header.qformCode = qform;
  if (Array.isArray(hdr.Affine)) header.srow = (hdr.Affine as number[][]).slice(0, 3).map((r) => r.map(Number));
  const qt = hdr.Quatern as Record<string, number> | undefined,
    qo = hdr.QuaternOffset as Record<string, number> | undefined;
  if (qt) header.quatern = [Number(qt.b), Number(qt.c), Number(qt.d)];
  if (qo) header.qoffset = [Number(qo.x), Number(qo.y), Number(qo.z)];
  const spatial = dims.slice(0, 3);
  while (spatial.length < 3) spatial.push(1);
  const affine: Affine = headerAffine(header, spatial);
  if (!affine.every((r) => r.every(Number.isFinite))) fail(path, "non-finite affine");
  const vol = makeVolume(
    data instanceof Float32Array || data instanceof Float64Array ? data : Float32Array.from(data as ArrayLike<number>),
    dims.length > 3 ? [...spatial, dims.slice(3).reduce((a, c) => a * c, 1)] : spatial,
    affine,
    header,
  );
  if (type === "uint8") vol.data = data; // keep label bytes as they are
  return vol;
}

/** Reads a `.jnii` or `.bnii` file. */
export async function readJnifti(path: string): Promise<Volume> {
  let raw: Uint8Array;
  try {
    raw = await Deno.readFile(path);
  } catch (e) {
    throw new InputError(path, `cannot read (${errorText(e)})`, EXIT_NOINPUT, { cause: e });
  }
  return parseJnifti(path, raw);
}
