/**
 * JNIfTI: NIfTI as JSON (`.jnii`, zlib + base64 payload) or binary JData
 * (`.bnii`, zlib payload), per the NeuroJSON JNIfTI specification.
 * `NIFTIHeader` carries the geometry (Affine = sform rows, QForm/SForm codes,
 * quaternion, voxel size) and an optional JGIFTI-style label table at
 * `NIFTIHeader._DataInfo_.LabelTable`; `NIFTIData` is a JData array
 * annotation in row-major order of `_ArraySize_` = [X, Y, Z(, C)], which is
 * what NeuroJSON's readers load as `array[x, y, z]`.
 *
 * This module maps `NIFTIHeader` to and from siamize's NIfTI header and
 * reads/writes the files; the JData array forms themselves (annotations,
 * zlib/gzip payloads, shuffles, orders) are in {@link ./jdata.ts}.
 *
 * @module
 */
import { type Affine } from "../core/types.ts";
import { affineToQuaternion, det3, identity } from "../geometry/affine.ts";
import { BJArray, BJDataError, type BJValue, decodeBJData, encodeBJData, type Endian } from "./bjdata.ts";
import { EXIT_NOINPUT, InputError } from "../core/errors.ts";
import { errorText, writeFileAtomic } from "../core/fsutil.ts";
import { checkInputFile, parseJsonBounded } from "../core/limits.ts";
import { checkQuaternion, headerAffine } from "./nifti_header.ts";
import { defaultHeader, makeVolume } from "./volume.ts";
import { type DataType, type Volume, type VoxelArray } from "../core/types.ts";
import {
  ARRAYS,
  type ArrayTypeName,
  dataTypeOf,
  encodeZipped,
  jdataTypeName,
  ndArray,
  numbers,
  transposeOrder,
} from "./jdata.ts";

// moved to lib/io/jdata.ts; re-exported for existing importers
export { shuffleBytes, transposeOrder } from "./jdata.ts";

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
  /** The model files that made the volume, for `NIFTIHeader._DataInfo_.Models` (`[{Name, SHA256}]`). */
  models?: readonly { name: string; sha256: string }[];
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
  const info: Record<string, BJValue> = {};
  if (labels) {
    info.LabelTable = {
      Key: labels.map((c) => c.index),
      Label: labels.map((c) => c.name),
      RGBA: labels.map((c) => c.color.map((x) => Math.round((x / 255) * 1e4) / 1e4)),
    };
  }
  if (o.models?.length) info.Models = o.models.map((m) => ({ Name: m.name, SHA256: m.sha256 }));
  if (Object.keys(info).length) h._DataInfo_ = info;
  return h;
}

/** Builds the JNIfTI document; `binary` leaves the payload as bytes, else base64. */
async function buildDocument(vol: Volume, o: JniftiWriteOptions, binary: boolean): Promise<Record<string, BJValue>> {
  const type: ArrayTypeName = o.datatype ?? (vol.data instanceof Uint8Array ? "uint8" : "float32");
  const Ctor = ARRAYS[type];
  const typed = vol.data instanceof Ctor ? vol.data : Ctor.from(vol.data as ArrayLike<number>);
  const data = await encodeZipped(typed as VoxelArray, vol.dims, type, { shuffle: o.shuffle, binary });
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
      doc = parseJsonBounded(json) as Record<string, unknown>;
    } catch (e) {
      if (!(e instanceof SyntaxError)) fail(path, `not a JNIfTI file (${errorText(e)})`);
      try {
        doc = parseJsonBounded(escapeControlsInStrings(json)) as Record<string, unknown>;
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
  await checkInputFile(path, "JNIfTI");
  try {
    raw = await Deno.readFile(path);
  } catch (e) {
    throw new InputError(path, `cannot read (${errorText(e)})`, EXIT_NOINPUT, { cause: e });
  }
  return parseJnifti(path, raw);
}
