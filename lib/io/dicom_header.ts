/**
 * The few slice-geometry tags of one DICOM file, read from its header
 * without the converter: SeriesInstanceUID, InstanceNumber,
 * ImagePositionPatient and ImageOrientationPatient (all in group 0020, so
 * parsing stops at the first element past it). Little-endian explicit and
 * implicit VR; sequences (defined or undefined length) are skipped. Used
 * to say which slices break a series' grid, so a file it cannot read
 * (big-endian, damaged) just gives `undefined`.
 *
 * @module
 */

/** The slice geometry of one file. */
export interface SliceHeader {
  /** SeriesInstanceUID (0020,000E). */
  uid?: string;
  /** InstanceNumber (0020,0013). */
  instance?: number;
  /** ImagePositionPatient (0020,0032), LPS mm. */
  position?: number[];
  /** ImageOrientationPatient (0020,0037): row then column direction cosines. */
  orientation?: number[];
}

const EXPLICIT_LONG = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]);
const UNDEFINED = 0xffffffff;

class Reader {
  constructor(readonly v: DataView, readonly end: number) {}
  tag(p: number): [number, number] {
    return [this.v.getUint16(p, true), this.v.getUint16(p + 2, true)];
  }
}

/** Thrown inside the parser when the header is not what it can read. */
class Unreadable extends Error {}

/**
 * Walks elements from `p` until `end`, or until an item delimiter when
 * `inItem` (returns the position after it); calls `on` for top-level
 * elements of group 0020 and stops past that group (returns -1).
 */
function walk(
  r: Reader,
  p: number,
  end: number,
  explicit: boolean,
  on: ((g: number, e: number, value: Uint8Array) => void) | undefined,
  inItem: boolean,
): number {
  const bytes = new Uint8Array(r.v.buffer, r.v.byteOffset, r.v.byteLength);
  while (p + 8 <= end) {
    const [g, e] = r.tag(p);
    if (g === 0xfffe) {
      if (e === 0xe00d && inItem) return p + 8; // item delimiter
      throw new Unreadable("unexpected delimiter");
    }
    if (on && g > 0x0020) return -1;
    let len: number, head: number, vr = "";
    if (explicit) {
      vr = String.fromCharCode(r.v.getUint8(p + 4), r.v.getUint8(p + 5));
      if (EXPLICIT_LONG.has(vr)) {
        len = r.v.getUint32(p + 8, true);
        head = 12;
      } else {
        len = r.v.getUint16(p + 6, true);
        head = 8;
      }
    } else {
      len = r.v.getUint32(p + 4, true);
      head = 8;
    }
    const at = p + head;
    if (len === UNDEFINED) {
      p = skipSequence(r, at, end, explicit && vr !== "UN");
      continue;
    }
    if (at + len > end) throw new Unreadable("element past the end");
    if (on && g === 0x0020) on(g, e, bytes.subarray(at, at + len));
    p = at + len;
  }
  if (inItem) throw new Unreadable("item without delimiter");
  return p;
}

/** Skips the items of an undefined-length sequence starting at `p`; returns the position after its delimiter. */
function skipSequence(r: Reader, p: number, end: number, explicit: boolean): number {
  while (p + 8 <= end) {
    const [g, e] = r.tag(p);
    const len = r.v.getUint32(p + 4, true);
    if (g !== 0xfffe) throw new Unreadable("sequence item expected");
    if (e === 0xe0dd) return p + 8; // sequence delimiter
    if (e !== 0xe000) throw new Unreadable("sequence item expected");
    p = len === UNDEFINED ? walk(r, p + 8, end, explicit, undefined, true) : p + 8 + len;
  }
  throw new Unreadable("sequence without delimiter");
}

const ascii = (b: Uint8Array) => new TextDecoder("latin1").decode(b).replace(/[\0 ]+$/, "").trim();
const numbers = (b: Uint8Array) => ascii(b).split("\\").map(Number);

/** The slice geometry of the DICOM file `bytes`, or undefined where its header cannot be read. */
export function sliceHeader(bytes: Uint8Array): SliceHeader | undefined {
  if (bytes.length < 144) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(v, bytes.length);
  try {
    // file meta group (0002): explicit VR little endian, its length in (0002,0000)
    let p = 132, syntax = "";
    const [g0, e0] = r.tag(p);
    if (g0 !== 2 || e0 !== 0) return undefined;
    const metaEnd = p + 12 + v.getUint32(p + 8, true);
    if (metaEnd > bytes.length) return undefined;
    p += 12;
    while (p < metaEnd) {
      const [, e] = r.tag(p);
      const vr = String.fromCharCode(v.getUint8(p + 4), v.getUint8(p + 5));
      const long = EXPLICIT_LONG.has(vr);
      const len = long ? v.getUint32(p + 8, true) : v.getUint16(p + 6, true);
      const at = p + (long ? 12 : 8);
      if (e === 0x10) syntax = ascii(bytes.subarray(at, at + len)).replace(/\0/g, "");
      p = at + len;
    }
    if (syntax === "1.2.840.10008.1.2.2") return undefined; // big endian: retired, not read here
    const explicit = syntax !== "1.2.840.10008.1.2";
    const out: SliceHeader = {};
    walk(r, metaEnd, bytes.length, explicit, (_g, e, value) => {
      if (e === 0x000e) out.uid = ascii(value).replace(/\0/g, "");
      else if (e === 0x0013) out.instance = Number(ascii(value));
      else if (e === 0x0032) out.position = numbers(value);
      else if (e === 0x0037) out.orientation = numbers(value);
    }, false);
    return out;
  } catch (e) {
    if (e instanceof Unreadable || e instanceof RangeError) return undefined;
    throw e;
  }
}
