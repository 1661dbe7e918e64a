/**
 * Binary JData encoding and decoding — the container of `.bnii` files.
 * BJData Draft 2 (current) is little-endian; Draft 1 (what Debian 12's
 * python3-bjdata 0.2.5 reads) stored numbers big-endian, so both byte
 * orders are supported. Byte arrays (`Uint8Array`) are written as optimised
 * `[$U#n` containers and read back as `Uint8Array`; typed containers of
 * other numbers are read back as arrays of numbers.
 *
 * @module
 */

/** Byte order of BJData numbers: Draft 2 "little" (default) or Draft 1 "big". */
export type Endian = "little" | "big";

/** Values BJData can hold here. */
export type BJValue = null | boolean | number | string | Uint8Array | BJValue[] | { [k: string]: BJValue };

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

/** Decodes BJData of the given byte order; throws on malformed input. */
export function decodeBJData(data: Uint8Array, endian: Endian = "little"): BJValue {
  const le = endian === "little";
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  const need = (n: number) => {
    if (p + n > data.length) throw new Error(`BJData truncated at byte ${p}`);
  };
  const marker = () => {
    need(1);
    return String.fromCharCode(data[p++]);
  };
  const scalar = (m: string): number => {
    const n = SIZES[m];
    if (n === undefined) throw new Error(`BJData: not a number marker "${m}" at byte ${p - 1}`);
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
  const count = (): number => {
    const m = marker();
    if (m === "[") {
      // N-d dimension vector: the count is the product.
      const dims = value("[") as number[];
      return dims.reduce((a, c) => a * c, 1);
    }
    const v = scalar(m);
    if (!(v >= 0)) throw new Error("BJData: negative count");
    return v;
  };
  const str = (): string => {
    const n = count();
    need(n);
    const s = new TextDecoder().decode(data.subarray(p, p + n));
    p += n;
    return s;
  };
  const value = (m: string): BJValue => {
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
        let type: string | undefined;
        let n: number | undefined;
        let next = marker();
        if (next === "$") {
          type = marker();
          next = marker();
        }
        if (next === "#") n = count();
        else if (type) throw new Error("BJData: typed container without count");
        else p--;
        if (m === "[") {
          if (type === "U" && n !== undefined) {
            need(n);
            const b = data.slice(p, p + n);
            p += n;
            return b;
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
  if (p !== data.length) throw new Error(`BJData: ${data.length - p} bytes after the value`);
  return v;
}
