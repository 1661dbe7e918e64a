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
import { type Affine, affineToQuaternion, det3, identity } from "../geometry/affine.ts";
import { BJArray, BJDataError, type BJValue, decodeBJData, encodeBJData, type Endian } from "./bjdata.ts";
import { EXIT_NOINPUT, InputError } from "../core/errors.ts";
import { errorText, writeFileAtomic } from "../core/fsutil.ts";
import { compress, decompress } from "./gzip.ts";
import { ARRAY_TYPES, checkQuaternion, defaultHeader, headerAffine, makeVolume } from "./nifti.ts";
import { type DataType, type Volume, type VoxelArray } from "../core/types.ts";

/**
 * One row of a label table, as JNIfTI stores it (`Key`, `Label`, `RGBA`).
 * Structurally a subset of the cards' `ClassInfo`, so a card's classes can
 * be passed as they are without io importing cards.
 */
export interface LabelEntry {
  /** Label value. */
  index: number;
  /** Human-readable name. */
  name: string;
  /** RGBA, 0-255. */
  color: readonly number[];
}

/** Options for writing JNIfTI. */
export interface JniftiWriteOptions {
  /** Stored type. @default "uint8" for a Uint8Array, else "float32" */
  datatype?: "uint8" | "int16" | "float32";
  /** Byte-shuffle the payload before zlib (`_ArrayShuffle_`). @default false */
  shuffle?: boolean;
  /** Label table for `NIFTIHeader._DataInfo_.LabelTable`. */
  labels?: readonly LabelEntry[];
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

/** The JData spec's canonical `_ArrayType_` name (`single`, not `float32`), as jsonlab and the C++ siamize write. */
function jdataTypeName(type: ArrayTypeName): string {
  return type === "float32" ? "single" : type === "float64" ? "double" : type;
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
    DataType: jdataTypeName(type),
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
    _ArrayType_: jdataTypeName(type),
    _ArraySize_: [...vol.dims],
    _ArrayZipType_: "zlib",
    // As the C++ siamize and jsonlab write it: the flat [1, N] of the serialised values.
    _ArrayZipSize_: [1, typed.length],
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
 * Escapes raw control characters inside JSON strings (a newline typed into
 * a `Description`, as one of NeuroJSON's published samples has): strict
 * JSON forbids them, jdata's reader accepts them.
 */
export function escapeControlsInStrings(text: string): string {
  let out = "", inString = false, from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // skip the escaped character
      else if (c === 0x22) inString = false;
      else if (c < 0x20) {
        out += text.slice(from, i) + "\\u" + c.toString(16).padStart(4, "0");
        from = i + 1;
      }
    } else if (c === 0x22) inString = true;
  }
  return out + text.slice(from);
}

/**
 * Parses JNIfTI bytes (text or binary, detected by content). Binary files
 * are read as little-endian BJData (Draft 2); when that fails or gives no
 * plausible affine, as big-endian (Draft 1). When both fail, the error is
 * the one that got further (a JNIfTI problem over a BJData one).
 */
export async function parseJnifti(path: string, raw: Uint8Array): Promise<Volume> {
  if (raw.length === 0) fail(path, "empty file");
  const first = raw.findIndex((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  const text = first >= 0 && raw[first] === 0x7b && raw[first + 1] !== undefined &&
    /[\s"}]/.test(String.fromCharCode(raw[first + 1]));
  if (text) {
    const json = new TextDecoder().decode(raw);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(json);
    } catch (e) {
      try {
        doc = JSON.parse(escapeControlsInStrings(json));
      } catch {
        fail(path, `not a JNIfTI file (${errorText(e)})`);
      }
    }
    return fromDocument(path, doc);
  }
  let little: Volume | undefined;
  const errors: unknown[] = [];
  for (const endian of ["little", "big"] as const) {
    try {
      const v = await fromDocument(path, decodeBJData(raw, endian) as Record<string, unknown>);
      if (endian === "big" || plausible(v.affine)) return v;
      little = v;
    } catch (e) {
      errors.push(e);
    }
  }
  if (little) return little;
  // A JNIfTI-level problem (the BJData decoded) says more than a decoding error; else the deeper decoding error.
  const rank = (e: unknown) => (e instanceof InputError ? Infinity : e instanceof BJDataError ? e.at : -1);
  const best = errors.reduce((a, b) => (rank(b) > rank(a) ? b : a));
  if (best instanceof InputError) throw best;
  fail(path, `not a JNIfTI file (${errorText(best)})`);
}

/** An N-D array as read: row-major values and dimensions (slowest first). */
interface NdArray {
  dims: number[];
  data: ArrayLike<number>;
  /** The JData type name, when the source said. */
  type?: string;
}

/** JData `_ArrayType_` names (and NumPy-style aliases) → how the bytes are stored. */
const JDATA_TYPES: Record<string, { bytes: number; read: (b: Uint8Array, n: number) => VoxelArray }> = (() => {
  const typed = <C extends { new (b: ArrayBuffer, o: number, n: number): VoxelArray; BYTES_PER_ELEMENT: number }>(
    C: C,
  ) => ({
    bytes: C.BYTES_PER_ELEMENT,
    read: (b: Uint8Array, n: number) => new C(b.buffer as ArrayBuffer, b.byteOffset, n),
  });
  const big = (signed: boolean) => ({
    bytes: 8,
    read: (b: Uint8Array, n: number) =>
      Float64Array.from(
        signed
          ? new BigInt64Array(b.buffer as ArrayBuffer, b.byteOffset, n)
          : new BigUint64Array(b.buffer as ArrayBuffer, b.byteOffset, n),
        Number,
      ),
  });
  const half = {
    bytes: 2,
    read: (b: Uint8Array, n: number) => {
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return Float32Array.from({ length: n }, (_, k) => v.getFloat16(2 * k, true));
    },
  };
  return {
    int8: typed(Int8Array),
    uint8: typed(Uint8Array),
    byte: typed(Uint8Array),
    char: typed(Uint8Array),
    logical: typed(Uint8Array),
    bool: typed(Uint8Array),
    int16: typed(Int16Array),
    uint16: typed(Uint16Array),
    int32: typed(Int32Array),
    uint32: typed(Uint32Array),
    int64: big(true),
    uint64: big(false),
    single: typed(Float32Array),
    float32: typed(Float32Array),
    double: typed(Float64Array),
    float64: typed(Float64Array),
    half,
    float16: half,
  };
})();

/** The NIfTI datatype a JData type name maps to. */
function dataTypeOf(type: string | undefined): DataType {
  switch (type) {
    case "single":
    case "half":
    case "float16":
      return "float32";
    case "double":
      return "float64";
    case "logical":
    case "bool":
    case "byte":
    case "char":
      return "uint8";
    default:
      return type && type in ARRAY_TYPES || type === "int64" || type === "uint64" ? type as DataType : "float64";
  }
}

/** JData's text forms of the IEEE 754 specials. */
const SPECIAL: Record<string, number> = { _NaN_: NaN, _Inf_: Infinity, "+_Inf_": Infinity, "-_Inf_": -Infinity };

/** Dimensions and flattened values of a (possibly nested, possibly typed-row) JSON/BJData array. */
function nested(path: string, what: string, v: unknown[]): NdArray {
  const dims: number[] = [];
  for (let x: unknown = v;;) {
    if (Array.isArray(x)) {
      dims.push(x.length);
      if (!x.length) break;
      x = x[0];
    } else if (x instanceof Uint8Array || x instanceof BJArray) {
      dims.push(...(x instanceof BJArray ? x.dims : [x.length]));
      break;
    } else break;
  }
  const flat: number[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) { for (const y of x) walk(y); }
    else if (x instanceof Uint8Array) { for (const y of x) flat.push(y); }
    else if (x instanceof BJArray) { for (const y of x.data) flat.push(y); }
    else if (typeof x === "number") flat.push(x);
    else if (typeof x === "boolean" || x === null) flat.push(x ? 1 : x === null ? NaN : 0);
    else if (typeof x === "string" && x in SPECIAL) flat.push(SPECIAL[x]);
    else fail(path, `${what}: non-numeric value ${JSON.stringify(x)}`);
  };
  walk(v);
  const n = dims.reduce((a, c) => a * c, 1);
  if (flat.length !== n) fail(path, `${what}: ragged nested array (${flat.length} values, shape ${dims.join("x")})`);
  return { dims, data: flat };
}

/** The base64 text or bytes of `_ArrayZipData_`. */
function zipBytes(path: string, zd: unknown): Uint8Array {
  if (typeof zd === "string") {
    try {
      return fromBase64(zd.replace(/\s+/g, ""));
    } catch {
      fail(path, "_ArrayZipData_ is not valid base64");
    }
  }
  if (zd instanceof Uint8Array) return zd;
  if (zd instanceof BJArray && zd.data instanceof Uint8Array) return zd.data;
  fail(path, "_ArrayZipData_ must be base64 text or bytes");
}

/** Decompresses a JData payload by `_ArrayZipType_`. */
async function unzip(path: string, zt: string, zipped: Uint8Array): Promise<Uint8Array> {
  if (zt === "base64") return zipped;
  if (zt !== "zlib" && zt !== "gzip") {
    fail(path, `unsupported _ArrayZipType_ "${zt}" (zlib and gzip are supported; re-save with one of those)`);
  }
  try {
    return await decompress(zipped, zt === "zlib" ? "deflate" : "gzip");
  } catch (e) {
    fail(path, `corrupt ${zt} payload (${errorText(e)})`);
  }
}

/** A JData annotated array (`_ArrayType_`, `_ArraySize_`, `_ArrayData_` or `_ArrayZip*_`) as row-major values. */
async function annotated(path: string, what: string, o: Record<string, unknown>): Promise<NdArray> {
  for (const k of ["_ArrayIsComplex_", "_ArrayIsSparse_", "_ArrayShape_", "_ArrayChunks_"]) {
    if (o[k] !== undefined && o[k] !== false) fail(path, `${what}: ${k} arrays are not supported`);
  }
  const type = String(o._ArrayType_ ?? "double").toLowerCase();
  const t = JDATA_TYPES[type];
  if (!t) fail(path, `${what}: unsupported _ArrayType_ "${type}"`);
  let dims = o._ArraySize_ === undefined ? undefined : (await ndArray(path, "_ArraySize_", o._ArraySize_)).data;
  let data: ArrayLike<number>;
  if (o._ArrayZipData_ !== undefined) {
    const zt = String(o._ArrayZipType_ ?? "zlib").toLowerCase();
    let bytes = await unzip(path, zt, zipBytes(path, o._ArrayZipData_));
    if (bytes.length % t.bytes) {
      fail(path, `${what}: ${zt} payload of ${bytes.length} bytes is not whole ${type} values`);
    }
    const n = bytes.length / t.bytes;
    // _ArrayShuffle_ N > 0: bytes were grouped by position within N-byte elements; < 0 is a bit shuffle.
    const shuffle = Number(o._ArrayShuffle_ ?? 0);
    if (shuffle < 0 || !Number.isInteger(shuffle)) fail(path, `${what}: _ArrayShuffle_ ${shuffle} is not supported`);
    if (shuffle > 1) {
      if (bytes.length % shuffle) fail(path, `${what}: payload is not whole ${shuffle}-byte shuffle units`);
      bytes = shuffleBytes(bytes, shuffle, true);
    }
    if (String(o._ArrayZipEndian_ ?? "little").toLowerCase() === "big" && t.bytes > 1) {
      bytes = bytes.slice();
      for (let i = 0; i < bytes.length; i += t.bytes) bytes.subarray(i, i + t.bytes).reverse();
    }
    if (bytes.byteOffset % t.bytes) bytes = bytes.slice();
    data = t.read(bytes, n);
  } else if (o._ArrayData_ !== undefined) {
    const inner = await ndArray(path, what, o._ArrayData_);
    data = inner.data;
  } else fail(path, `${what} has neither _ArrayZipData_ nor _ArrayData_`);
  dims ??= [data.length];
  const shape = Array.from(dims, Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(path, `${what}: invalid _ArraySize_ ${JSON.stringify(shape)}`);
  }
  const n = shape.reduce((a, c) => a * c, 1);
  if (data.length !== n) {
    fail(path, `${what} has ${data.length} ${type} values, _ArraySize_ ${shape.join("x")} needs ${n}`);
  }
  const order = String(o._ArrayOrder_ ?? "r").toLowerCase();
  if (order === "c" || order === "col" || order === "column" || order === "f") {
    // Column-major storage: reorder into row-major.
    const typed = ArrayBuffer.isView(data) ? data as VoxelArray : Float64Array.from(data);
    data = transposeOrder(typed, shape, true);
  }
  return { dims: shape, data, type };
}

/** The JData type name of a typed array. */
function typeNameOf(a: VoxelArray): string {
  return a instanceof Float32Array
    ? "single"
    : a instanceof Float64Array
    ? "double"
    : a.constructor.name.replace(/Array$/, "").toLowerCase();
}

/** Any JData array form as row-major values: annotated object, typed BJData container, bytes, nested arrays, a number. */
function ndArray(path: string, what: string, v: unknown): Promise<NdArray> {
  if (v instanceof BJArray) {
    const data = v.columnMajor ? transposeOrder(v.data, v.dims, true) : v.data;
    return Promise.resolve({ dims: v.dims, data, type: typeNameOf(v.data) });
  }
  if (v instanceof Uint8Array) return Promise.resolve({ dims: [v.length], data: v, type: "uint8" });
  if (Array.isArray(v)) return Promise.resolve(nested(path, what, v));
  if (typeof v === "number") return Promise.resolve({ dims: [1], data: [v] });
  if (v && typeof v === "object" && "_ArrayType_" in v) return annotated(path, what, v as Record<string, unknown>);
  fail(path, `${what} is not an array (${v === null ? "null" : typeof v})`);
}

/** Numbers of a header field in any JData array form, or undefined when absent. */
async function numbers(path: string, what: string, v: unknown): Promise<number[] | undefined> {
  if (v === undefined || v === null) return undefined;
  return Array.from((await ndArray(path, what, v)).data, Number);
}

/** JNIfTI QForm/SForm names (JNIfTI spec) → NIfTI codes. */
const XFORM_NAMES: Record<string, number> = {
  "": 0,
  unknown: 0,
  scanner_anat: 1,
  scanner: 1,
  aligned_anat: 2,
  aligned: 2,
  talairach: 3,
  mni_152: 4,
  mni: 4,
  template_other: 5,
  template: 5,
};

/** A QForm/SForm given as a code or a name; invalid ones count as 0 (unknown), as nibabel does. */
function xformCode(path: string, what: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const code = typeof v === "string" ? XFORM_NAMES[v.trim().toLowerCase()] ?? Number(v) : Number(v);
  if (!Number.isFinite(code)) fail(path, `${what}: unknown transform ${JSON.stringify(v)}`);
  return code >= 0 && code <= 5 && Number.isInteger(code) ? code : 0;
}

/** Three numbers from `{b, c, d}` / `{x, y, z}` objects or arrays. */
async function triple(path: string, what: string, v: unknown, keys: string): Promise<number[] | undefined> {
  if (
    v && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof BJArray) &&
    !("_ArrayType_" in v)
  ) {
    const o = v as Record<string, unknown>;
    return [...keys].map((k) => Number(o[k] ?? 0));
  }
  const n = await numbers(path, what, v);
  if (n && n.length < 3) fail(path, `${what} needs 3 values, has ${n.length}`);
  return n?.slice(0, 3);
}

/** A volume's values as the type the rest of siamize works with (see {@linkcode Volume.data}), scaled. */
function voxelValues(data: ArrayLike<number>, type: DataType, slope: number, inter: number): VoxelArray {
  const scaled = Number.isFinite(slope) && slope !== 0 && (slope !== 1 || inter !== 0);
  if (!scaled && type === "uint8" && data instanceof Uint8Array) return data; // label bytes as they are
  const wide = ["float64", "int32", "uint32", "int64", "uint64"].includes(type);
  if (!scaled && (wide ? data instanceof Float64Array : data instanceof Float32Array)) return data as VoxelArray;
  const out = wide ? new Float64Array(data.length) : new Float32Array(data.length);
  if (scaled) { for (let i = 0; i < data.length; i++) out[i] = data[i] * slope + inter; }
  else out.set(data);
  return out;
}

async function fromDocument(path: string, doc: Record<string, unknown>): Promise<Volume> {
  const hdr = doc?.NIFTIHeader as Record<string, unknown> | undefined;
  const nd = doc?.NIFTIData;
  if (!hdr || typeof hdr !== "object" || nd === undefined || nd === null) {
    fail(path, "not a JNIfTI file (no NIFTIHeader/NIFTIData)");
  }
  if (typeof nd !== "object") fail(path, `NIFTIData must be an array or a JData array object, not ${typeof nd}`);
  if (!(nd instanceof BJArray) && !(nd instanceof Uint8Array) && !Array.isArray(nd) && !("_ArrayType_" in nd)) {
    fail(path, "NIFTIData is an object without _ArrayType_ (not a JData array)");
  }
  const arr = await ndArray(path, "NIFTIData", nd);
  const type = dataTypeOf(arr.type ?? (typeof hdr.DataType === "string" ? hdr.DataType : undefined));
  // Dimensions: the array's own (row-major [X, Y, Z, …]); a singleton 4th and higher fold away.
  let dims = arr.dims.slice();
  if (dims.length === 1) {
    const d = await numbers(path, "Dim", hdr.Dim);
    if (d && d.reduce((a, c) => a * c, 1) === dims[0]) dims = d;
  }
  if (!dims.length || dims.some((d) => !(d > 0))) fail(path, `invalid NIFTIData size ${JSON.stringify(dims)}`);
  if (dims.length > 7) fail(path, `NIFTIData has ${dims.length} dimensions; NIfTI allows 7`);
  const spatial = dims.slice(0, 3);
  while (spatial.length < 3) spatial.push(1);
  const volumes = dims.slice(3).reduce((a, c) => a * c, 1);
  const shape = volumes > 1 ? [...spatial, volumes] : spatial;
  const slope = Number(hdr.ScaleSlope ?? 0), inter = Number(hdr.ScaleOffset ?? 0);
  const values = voxelValues(arr.data, type, slope, Number.isFinite(inter) ? inter : 0);
  const data = transposeOrder(values, volumes > 1 ? [...spatial, volumes] : spatial, false);

  // Geometry, as for NIfTI: SForm rows when SForm > 0, else the quaternion, else voxel sizes.
  const header = defaultHeader(identity());
  header.datatype = type;
  const vs = await numbers(path, "VoxelSize", hdr.VoxelSize) ?? [1, 1, 1];
  const affineRows = await numbers(path, "Affine", hdr.Affine);
  if (affineRows && affineRows.length !== 12 && affineRows.length !== 16) {
    fail(path, `Affine has ${affineRows.length} values; a 3x4 or 4x4 matrix needs 12 or 16`);
  }
  const sform = xformCode(path, "SForm", hdr.SForm), qform = xformCode(path, "QForm", hdr.QForm);
  header.pixdim = [Number(hdr.QFac ?? 1) < 0 ? -1 : 1, vs[0] ?? 1, vs[1] ?? 1, vs[2] ?? 1, vs[3] ?? 1, 1, 1, 1];
  // An Affine without an SForm key (jdata's minimal files) is taken as the sform.
  header.sformCode = sform ?? (affineRows ? 2 : 0);
  header.qformCode = qform ?? 0;
  if (affineRows) header.srow = [0, 1, 2].map((r) => affineRows.slice(4 * r, 4 * r + 4));
  const qt = await triple(path, "Quatern", hdr.Quatern, "bcd"),
    qo = await triple(path, "QuaternOffset", hdr.QuaternOffset, "xyz");
  if (qt) header.quatern = qt as [number, number, number];
  if (qo) header.qoffset = qo as [number, number, number];
  if (header.sformCode > 0 && !affineRows) header.sformCode = 0;
  if (header.qformCode > 0 && !qt) header.qformCode = 0;
  checkQuaternion(path, header);
  header.dim = [shape.length, ...shape, ...Array(7 - shape.length).fill(1)];
  const affine: Affine = headerAffine(header, spatial);
  if (!affine.every((r) => r.every(Number.isFinite))) fail(path, "non-finite affine");
  return makeVolume(data, shape, affine, header);
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
