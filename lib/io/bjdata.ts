/**
 * Binary JData encoding and decoding — the container of `.bnii` files.
 * BJData Draft 2 (current) is little-endian; Draft 1 (what Debian 12's
 * python3-bjdata 0.2.5 reads) stored numbers big-endian, so both byte
 * orders are supported. Byte arrays (`Uint8Array`) are written as optimised
 * `[$U#n` containers and read back as `Uint8Array`; every other optimised
 * (typed) numeric container, 1-D `[$t#n` or N-D `[$t#[dims…]`, is read back
 * as a {@linkcode BJArray}: its row-major values in a typed array plus its
 * dimensions.
 *
 * @module
 */
import { MAX_NESTING } from "../core/limits.ts";

/** Byte order of BJData numbers: Draft 2 "little" (default) or Draft 1 "big". */
export type Endian = "little" | "big";

/** A typed BJData container as read: row-major values and their dimensions (1-D for `[$t#n`). */
export class BJArray {
  constructor(
    /** Dimensions, slowest first (row-major), as stored. */
    readonly dims: number[],
    /** The values; int64/uint64 become Float64Array, float16 Float32Array. */
    readonly data:
      | Int8Array
      | Uint8Array
      | Int16Array
      | Uint16Array
      | Int32Array
      | Uint32Array
      | Float32Array
      | Float64Array,
    /** Values stored column-major (BJData Draft 3 `#[[dims…]]`): first index fastest. */
    readonly columnMajor = false,
  ) {}
}

/** A malformed-BJData error, with the byte offset where decoding stopped. */
export class BJDataError extends Error {
  constructor(message: string, /** Byte offset of the problem. */ readonly at: number) {
    super(message);
    this.name = "BJDataError";
  }
}

/** Values BJData can hold here. */
export type BJValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | BJArray
  | BJValue[]
  | { [k: string]: BJValue };

class Writer {
  readonly le: boolean;
  constructor(endian: Endian) {
    this.le = endian === "little";
  }
  #buf = new Uint8Array(1 << 16);
  #view = new DataView(this.#buf.buffer);
  #len = 0;
  #ensure(n: number) {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.#buf.subarray(0, this.#len));
    this.#buf = b;
    this.#view = new DataView(b.buffer);
  }
  byte(b: number) {
    this.#ensure(1);
    this.#buf[this.#len++] = b;
  }
  marker(c: string) {
    this.byte(c.charCodeAt(0));
  }
  bytes(b: Uint8Array) {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }
  int(v: number) {
    if (v >= 0 && v <= 255) {
      this.marker("U");
      this.byte(v);
    } else if (v >= -128 && v <= 127) {
      this.marker("i");
      this.#ensure(1);
      this.#view.setInt8(this.#len++, v);
    } else if (v >= -32768 && v <= 32767) {
      this.marker("I");
      this.#ensure(2);
      this.#view.setInt16(this.#len, v, this.le);
      this.#len += 2;
    } else if (v >= 0 && v <= 65535) {
      this.marker("u");
      this.#ensure(2);
      this.#view.setUint16(this.#len, v, this.le);
      this.#len += 2;
    } else if (v >= -2147483648 && v <= 2147483647) {
      this.marker("l");
      this.#ensure(4);
      this.#view.setInt32(this.#len, v, this.le);
      this.#len += 4;
    } else if (v >= 0 && v <= 4294967295) {
      this.marker("m");
      this.#ensure(4);
      this.#view.setUint32(this.#len, v, this.le);
      this.#len += 4;
    } else {
      this.marker("L");
      this.#ensure(8);
      this.#view.setBigInt64(this.#len, BigInt(v), this.le);
      this.#len += 8;
    }
  }
  float(v: number) {
    this.marker("D");
    this.#ensure(8);
    this.#view.setFloat64(this.#len, v, this.le);
    this.#len += 8;
  }
  string(s: string) {
    const b = new TextEncoder().encode(s);
    this.int(b.length);
    this.bytes(b);
  }
  result(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

function encodeValue(w: Writer, v: BJValue): void {
  if (v === null) w.marker("Z");
  else if (v === true) w.marker("T");
  else if (v === false) w.marker("F");
  else if (typeof v === "number") {
    if (Number.isSafeInteger(v)) w.int(v);
    else w.float(v);
  } else if (typeof v === "string") {
    w.marker("S");
    w.string(v);
  } else if (v instanceof Uint8Array) {
    w.marker("[");
    w.marker("$");
    w.marker("U");
    w.marker("#");
    w.int(v.length);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    w.marker("[");
    for (const x of v) encodeValue(w, x);
    w.marker("]");
  } else {
    w.marker("{");
    for (const [k, x] of Object.entries(v)) {
      w.string(k);
      encodeValue(w, x);
    }
    w.marker("}");
  }
}

/** Encodes a value as BJData (little-endian unless `endian` is "big"). */
export function encodeBJData(v: BJValue, endian: Endian = "little"): Uint8Array {
  const w = new Writer(endian);
  encodeValue(w, v);
  return w.result();
}

const SIZES: Record<string, number> = { i: 1, U: 1, I: 2, u: 2, l: 4, m: 4, L: 8, M: 8, h: 2, d: 4, D: 8, C: 1, B: 1 };

/** Typed-array constructors by BJData marker (those stored as-is). */
const TYPED = {
  i: Int8Array,
  U: Uint8Array,
  C: Uint8Array,
  B: Uint8Array,
  I: Int16Array,
  u: Uint16Array,
  l: Int32Array,
  m: Uint32Array,
  d: Float32Array,
  D: Float64Array,
} as const;

/** Reads `n` values of marker `m` at `p` into a typed array (one copy; byte-swapped when `le` is false). */
function typedBlock(data: Uint8Array, p: number, n: number, m: string, le: boolean): BJArray["data"] {
  const size = SIZES[m];
  const bytes = data.slice(p, p + n * size);
  if (!le && size > 1) {
    for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  }
  if (m in TYPED) return new TYPED[m as keyof typeof TYPED](bytes.buffer, 0, n);
  const view = new DataView(bytes.buffer);
  if (m === "h") return Float32Array.from({ length: n }, (_, k) => view.getFloat16(2 * k, true));
  const wide = m === "L" ? new BigInt64Array(bytes.buffer, 0, n) : new BigUint64Array(bytes.buffer, 0, n);
  return Float64Array.from(wide, Number);
}

/** Decodes BJData of the given byte order; throws on malformed input. */
export function decodeBJData(data: Uint8Array, endian: Endian = "little"): BJValue {
  const le = endian === "little";
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  const fail = (msg: string, at = p): never => {
    throw new BJDataError(`BJData: ${msg} at byte ${at}`, at);
  };
  const need = (n: number) => {
    if (!(p + n <= data.length)) fail(`truncated (${n} more bytes needed, ${data.length - p} left)`);
  };
  const marker = () => {
    need(1);
    return String.fromCharCode(data[p++]);
  };
  const scalar = (m: string): number => {
    const n = SIZES[m];
    if (n === undefined) fail(`not a number marker ${JSON.stringify(m)}`, p - 1);
    need(n);
    let v: number;
    switch (m) {
      case "i":
        v = view.getInt8(p);
        break;
      case "U":
      case "C":
      case "B":
        v = view.getUint8(p);
        break;
      case "I":
        v = view.getInt16(p, le);
        break;
      case "u":
        v = view.getUint16(p, le);
        break;
      case "l":
        v = view.getInt32(p, le);
        break;
      case "m":
        v = view.getUint32(p, le);
        break;
      case "L":
        v = Number(view.getBigInt64(p, le));
        break;
      case "M":
        v = Number(view.getBigUint64(p, le));
        break;
      case "h":
        v = view.getFloat16(p, le);
        break;
      case "d":
        v = view.getFloat32(p, le);
        break;
      default:
        v = view.getFloat64(p, le);
    }
    p += n;
    return v;
  };
  /** A count: one integer, or an N-D dimension vector `[…]` (then `dims` holds it). */
  const count = (): { n: number; dims?: number[]; columnMajor?: boolean } => {
    const m = marker();
    if (m === "[") {
      const at = p - 1;
      let v = value("[");
      // Draft 3: the dimension vector wrapped once more, `[[dims…]]`, means column-major data.
      const columnMajor = Array.isArray(v) && v.length === 1 && typeof v[0] === "object" && v[0] !== null;
      if (columnMajor) v = (v as BJValue[])[0];
      const dims = v instanceof BJArray || v instanceof Uint8Array ? Array.from(v instanceof BJArray ? v.data : v) : v;
      if (!Array.isArray(dims) || !dims.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
        fail("invalid dimension vector", at);
      }
      return { n: (dims as number[]).reduce((a, c) => a * c, 1), dims: dims as number[], columnMajor };
    }
    const v = scalar(m);
    if (!(v >= 0) || !Number.isSafeInteger(v)) fail(`invalid count ${v}`, p - 1);
    return { n: v };
  };
  const str = (): string => {
    const { n } = count();
    need(n);
    const s = new TextDecoder().decode(data.subarray(p, p + n));
    p += n;
    return s;
  };
  let depth = 0;
  const value = (m: string): BJValue => {
    const d = depth;
    try {
      return valueAt(m);
    } finally {
      depth = d;
    }
  };
  const valueAt = (m: string): BJValue => {
    switch (m) {
      case "Z":
        return null;
      case "T":
        return true;
      case "F":
        return false;
      case "S":
      case "H":
        return m === "S" ? str() : Number(str());
      case "[":
      case "{": {
        if (++depth > MAX_NESTING) fail(`containers nested deeper than ${MAX_NESTING} levels`);
        let type: string | undefined;
        let n: number | undefined;
        let dims: number[] | undefined;
        let columnMajor: boolean | undefined;
        let next = marker();
        if (next === "$") {
          type = marker();
          next = marker();
        }
        if (next === "#") {
          const at = p;
          ({ n, dims, columnMajor } = count());
          // Every element takes at least one byte (typed blocks are checked by size below): a larger count is a lie.
          if (n > data.length - p && !(type && SIZES[type] !== undefined)) {
            fail(`count ${n} exceeds the ${data.length - p} bytes left`, at);
          }
        } else if (type) fail("typed container without count");
        else p--;
        if (m === "[") {
          if (type && n !== undefined && SIZES[type] !== undefined) {
            need(n * SIZES[type]);
            const block = typedBlock(data, p, n, type, le);
            p += n * SIZES[type];
            // 1-D byte arrays stay plain bytes; everything else keeps its type and shape.
            if (type === "U" && !dims) return block as Uint8Array;
            return new BJArray(dims ?? [n], block, columnMajor === true && dims !== undefined);
          }
          const out: BJValue[] = [];
          if (n !== undefined) {
            for (let k = 0; k < n; k++) {
              out.push(
                type
                  ? (type === "Z" ? null : type === "T" ? true : type === "F" ? false : scalar(type))
                  : value(marker()),
              );
            }
          } else {
            for (let t = marker(); t !== "]"; t = marker()) if (t !== "N") out.push(value(t));
          }
          return out;
        }
        const obj: Record<string, BJValue> = {};
        if (n !== undefined) {
          for (let k = 0; k < n; k++) {
            const key = str();
            obj[key] = type ? scalar(type) : value(marker());
          }
        } else {
          for (let t = marker(); t !== "}"; t = marker()) {
            if (t === "N") continue;
            p--;
            const key = str();
            obj[key] = value(marker());
          }
        }
        return obj;
      }
      default:
        return scalar(m);
    }
  };
  const v = value(marker());
  if (p !== data.length) fail(`${data.length - p} bytes after the value`);
  return v;
}
