/**
 * A byte-by-byte BJData builder for tests, written from the BJData
 * specification and independent of `lib/io/bjdata.ts`, so the decoder is not
 * only tested against our own encoder. Every helper returns plain byte
 * lists; `bj()` joins them.
 *
 * @module
 */

/** Byte order of the numbers written (BJData Draft 2+ is little-endian; Draft 1 big). */
export let bigEndian = false;

/** Runs `fn` writing big-endian (Draft 1) numbers. */
export function asBigEndian<T>(fn: () => T): T {
  bigEndian = true;
  try {
    return fn();
  } finally {
    bigEndian = false;
  }
}

const SIZE: Record<string, number> = { i: 1, U: 1, I: 2, u: 2, l: 4, m: 4, L: 8, M: 8, h: 2, d: 4, D: 8 };

/** The raw bytes of one number of type `m` (no marker). */
export function raw(m: string, x: number): number[] {
  const b = new Uint8Array(SIZE[m]);
  const v = new DataView(b.buffer);
  const le = !bigEndian;
  switch (m) {
    case "i":
      v.setInt8(0, x);
      break;
    case "U":
      v.setUint8(0, x);
      break;
    case "I":
      v.setInt16(0, x, le);
      break;
    case "u":
      v.setUint16(0, x, le);
      break;
    case "l":
      v.setInt32(0, x, le);
      break;
    case "m":
      v.setUint32(0, x, le);
      break;
    case "L":
      v.setBigInt64(0, BigInt(x), le);
      break;
    case "M":
      v.setBigUint64(0, BigInt(x), le);
      break;
    case "h":
      v.setFloat16(0, x, le);
      break;
    case "d":
      v.setFloat32(0, x, le);
      break;
    case "D":
      v.setFloat64(0, x, le);
      break;
  }
  return [...b];
}

const ch = (c: string) => c.charCodeAt(0);

/** A number with its marker. */
export const num = (m: string, x: number): number[] => [ch(m), ...raw(m, x)];
/** An integer as `U` (0–255) or `l`. */
export const int = (x: number): number[] => (x >= 0 && x < 256 ? num("U", x) : num("l", x));
/** A string value: `S`, length, UTF-8. */
export const str = (s: string): number[] => {
  const b = new TextEncoder().encode(s);
  return [ch("S"), ...int(b.length), ...b];
};
/** An object from [key, value bytes] pairs. */
export const obj = (...pairs: [string, number[]][]): number[] => [
  ch("{"),
  ...pairs.flatMap(([k, v]) => {
    const b = new TextEncoder().encode(k);
    return [...int(b.length), ...b, ...v];
  }),
  ch("}"),
];
/** A plain (unoptimised) array. */
export const arr = (...items: number[][]): number[] => [ch("["), ...items.flat(), ch("]")];
/** An optimised 1-D array `[$m#n`. */
export const typed = (m: string, values: ArrayLike<number>): number[] => [
  ch("["),
  ch("$"),
  ch(m),
  ch("#"),
  ...int(values.length),
  ...Array.from(values).flatMap((x) => raw(m, x)),
];
/**
 * An optimised N-D array `[$m#[$U#k d1 … dk]` (row-major values), or with
 * `columnMajor` the Draft 3 form `[$m#[[$U#k d1 … dk]]` (first index fastest).
 */
export const typedNd = (m: string, dims: number[], values: ArrayLike<number>, columnMajor = false): number[] => {
  const dimVec = typed("U", dims);
  return [
    ch("["),
    ch("$"),
    ch(m),
    ch("#"),
    ...(columnMajor ? arr(dimVec) : dimVec),
    ...Array.from(values).flatMap((x) => raw(m, x)),
  ];
};
/** `true`/`false`/`null`. */
export const T: number[] = [ch("T")], F: number[] = [ch("F")], Z: number[] = [ch("Z")];

/** Joins byte lists into one buffer. */
export function bj(...parts: number[][]): Uint8Array {
  return new Uint8Array(parts.flat());
}
