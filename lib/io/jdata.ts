/**
 * JData array annotations (NeuroJSON JData specification): the
 * `_ArrayType_` / `_ArraySize_` / `_ArrayZipType_` / `_ArrayZipData_` /
 * `_ArrayData_` forms of an N-D array, encoded as zlib payloads (base64 in
 * JSON, bytes in BJData) and decoded from any of them (zlib or gzip,
 * byte-shuffled, big-endian, column-major, nested or typed BJData arrays).
 * Used by {@link ./jnifti.ts} for `NIFTIData` and the header's numeric fields.
 *
 * @module
 */
import { BJArray, type BJValue } from "./bjdata.ts";
import { InputError } from "../core/errors.ts";
import { errorText } from "../core/fsutil.ts";
import { compress, decompress, InflateLimitError, MAX_DEFLATE_RATIO } from "./gzip.ts";
import { bytesText, ceilingText, maxInputBytes } from "../core/limits.ts";
import { ARRAY_TYPES } from "./nifti.ts";
import type { DataType, VoxelArray } from "../core/types.ts";

function fail(path: string, problem: string): never {
  throw new InputError(path, problem);
}

/** Typed-array constructors by datatype name, as `_ArrayType_` encodes them. */
export const ARRAYS = ARRAY_TYPES;
/** The datatype names a JData array can be written as. */
export type ArrayTypeName = keyof typeof ARRAYS;

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

/** The JData spec's canonical `_ArrayType_` name (`single`, not `float32`), as jsonlab and the C++ siamize write. */
export function jdataTypeName(type: ArrayTypeName): string {
  return type === "float32" ? "single" : type === "float64" ? "double" : type;
}

/** An N-D array as read: row-major values and dimensions (slowest first). */
export interface NdArray {
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
export function dataTypeOf(type: string | undefined): DataType {
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

/**
 * Decompresses a JData payload by `_ArrayZipType_`, stopping as soon as it
 * inflates past `limit` bytes (what `_ArraySize_` or `_ArrayZipSize_`
 * declares, else the input ceiling).
 */
async function unzip(path: string, zt: string, zipped: Uint8Array, limit: number): Promise<Uint8Array> {
  if (zt === "base64") return zipped;
  if (zt !== "zlib" && zt !== "gzip") {
    fail(path, `unsupported _ArrayZipType_ "${zt}" (zlib and gzip are supported; re-save with one of those)`);
  }
  try {
    return await decompress(zipped, zt === "zlib" ? "deflate" : "gzip", limit);
  } catch (e) {
    if (e instanceof InflateLimitError) {
      fail(path, `${zt} payload inflates past the ${bytesText(limit)} its array size declares (a decompression bomb?)`);
    }
    fail(path, `corrupt ${zt} payload (${errorText(e)})`);
  }
}

/** The product of a JData size field (`[1, N]`, `N`, or an array form), or undefined when absent or invalid. */
async function declaredCount(path: string, what: string, v: unknown): Promise<number | undefined> {
  if (v === undefined || v === null) return undefined;
  const d = Array.from((await ndArray(path, what, v)).data, Number);
  if (!d.every((x) => Number.isSafeInteger(x) && x >= 0)) fail(path, `invalid ${what} ${JSON.stringify(d)}`);
  return d.reduce((a, c) => a * c, 1);
}

/**
 * The bytes a zipped payload may inflate to: the declared element count
 * (`_ArraySize_`, else `_ArrayZipSize_`) times the element size, refused
 * above the input ceiling or above what the compressed bytes can hold.
 */
async function payloadLimit(path: string, o: Record<string, unknown>, bytes: number, zipped: number): Promise<number> {
  const n = await declaredCount(path, "_ArraySize_", o._ArraySize_) ??
    await declaredCount(path, "_ArrayZipSize_", o._ArrayZipSize_);
  if (n === undefined) fail(path, "compressed _ArrayZipData_ without _ArraySize_ (its size cannot be checked)");
  const want = n * bytes;
  if (want > maxInputBytes()) fail(path, `array size declares ${bytesText(want)} of data; ${ceilingText()}`);
  if (want > zipped * MAX_DEFLATE_RATIO + 1024) {
    fail(path, `array size declares ${bytesText(want)}, more than ${bytesText(zipped)} of compressed data can hold`);
  }
  return want;
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
    const zipped = zipBytes(path, o._ArrayZipData_);
    const limit = zt === "base64" ? Infinity : await payloadLimit(path, o, t.bytes, zipped.length);
    let bytes = await unzip(path, zt, zipped, limit);
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
export function ndArray(path: string, what: string, v: unknown): Promise<NdArray> {
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
export async function numbers(path: string, what: string, v: unknown): Promise<number[] | undefined> {
  if (v === undefined || v === null) return undefined;
  return Array.from((await ndArray(path, what, v)).data, Number);
}

/**
 * A zlib-compressed JData annotated array of `values` (x fastest, as
 * {@linkcode Volume.data}) with `_ArraySize_` = `dims`, stored row-major;
 * `binary` leaves the payload as bytes, else base64.
 */
export async function encodeZipped(
  values: VoxelArray,
  dims: number[],
  type: ArrayTypeName,
  o: { shuffle?: boolean; binary: boolean },
): Promise<Record<string, BJValue>> {
  const Ctor = ARRAYS[type];
  const rowMajor = transposeOrder(values, dims, true);
  let bytes = new Uint8Array(rowMajor.buffer, rowMajor.byteOffset, rowMajor.byteLength);
  if (o.shuffle) bytes = shuffleBytes(bytes, Ctor.BYTES_PER_ELEMENT);
  const zipped = await compress(bytes, "deflate");
  const data: Record<string, BJValue> = {
    _ArrayType_: jdataTypeName(type),
    _ArraySize_: [...dims],
    _ArrayZipType_: "zlib",
    // As the C++ siamize and jsonlab write it: the flat [1, N] of the serialised values.
    _ArrayZipSize_: [1, values.length],
    _ArrayZipData_: o.binary ? zipped : toBase64(zipped),
  };
  if (o.shuffle) data._ArrayShuffle_ = Ctor.BYTES_PER_ELEMENT;
  return data;
}
