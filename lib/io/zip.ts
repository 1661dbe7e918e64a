/**
 * Reading a `.zip` archive in memory, bounded: the central directory is
 * parsed here, each entry is inflated on demand by the runtime's native
 * `deflate-raw` stream ({@linkcode decompress}, which stops the moment the
 * output passes the entry's declared size, so a zip bomb costs no more
 * memory than its declared sizes), and its CRC-32 is checked. Entry names
 * are only reported, never used as paths: nothing of an archive touches
 * the disk. Stored (0) and deflated (8) entries are read; ZIP64,
 * encrypted and other methods are refused with a clear error.
 *
 * @module
 */
import { readFileHead } from "../core/fsutil.ts";
import { InputError } from "../core/errors.ts";
import { decompress, InflateLimitError } from "./gzip.ts";
import { crc32 } from "./png.ts";

/** One file of an archive, as its central directory declares it. */
export interface ZipEntry {
  /** The entry's name in the archive (never used as a path). */
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  /** Compressed bytes. */
  compressedSize: number;
  /** Declared uncompressed bytes. */
  size: number;
  /** Declared CRC-32 of the uncompressed bytes. */
  crc: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
  /** Whether the entry is a folder (its name ends with `/`). */
  isFolder: boolean;
}

/** Whether `head` starts with a zip signature: `PK\x03\x04` (a local header) or `PK\x05\x06` (an empty archive). */
export function isZipBytes(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b &&
    ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/** Whether the file at `path` starts with a zip signature (by content, whatever its extension). */
export async function isZipFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile && isZipBytes(await readFileHead(path, 4));
  } catch {
    return false;
  }
}

const EOCD = 0x06054b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

/**
 * The entries of the archive `data` (read from `path`, which errors name),
 * from its central directory. Throws a one-line {@linkcode InputError}
 * (exit 65) for a truncated or damaged archive, ZIP64, or encrypted
 * entries.
 */
export function zipEntries(path: string, data: Uint8Array): ZipEntry[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bad = (what: string) => new InputError(path, `not a readable zip archive (${what})`);
  let e = data.length - 22;
  const stop = Math.max(0, data.length - 22 - 65535); // the comment is at most 64 KiB
  while (e >= stop && v.getUint32(e, true) !== EOCD) e--;
  if (e < stop || e < 0) throw bad("no end of central directory: truncated?");
  const count = v.getUint16(e + 10, true);
  const cdSize = v.getUint32(e + 12, true), cdOffset = v.getUint32(e + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) {
    throw new InputError(path, "ZIP64 archives are not read: unzip it and give the folder");
  }
  if (cdOffset + cdSize > e) throw bad("the central directory lies past its end: truncated?");
  const out: ZipEntry[] = [];
  let p = cdOffset;
  const utf8 = new TextDecoder("utf-8", { fatal: false });
  for (let i = 0; i < count; i++) {
    if (p + 46 > e || v.getUint32(p, true) !== CENTRAL) throw bad(`central directory entry ${i + 1} damaged`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    const compressedSize = v.getUint32(p + 20, true), size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true), extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const headerOffset = v.getUint32(p + 42, true);
    if (p + 46 + nameLen > e) throw bad(`central directory entry ${i + 1} damaged`);
    const name = utf8.decode(data.subarray(p + 46, p + 46 + nameLen));
    if (compressedSize === 0xffffffff || size === 0xffffffff || headerOffset === 0xffffffff) {
      throw new InputError(path, "ZIP64 archives are not read: unzip it and give the folder");
    }
    if (flags & 1) throw new InputError(path, `entry ${JSON.stringify(name)} is encrypted`);
    out.push({ name, method, compressedSize, size, crc, headerOffset, isFolder: name.endsWith("/") });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/**
 * The uncompressed bytes of `entry` of the archive `data` (read from
 * `path`): inflation stops past the declared size, and the length and
 * CRC-32 must match the central directory. One-line
 * {@linkcode InputError}s (exit 65) name the archive and the entry.
 */
export async function zipEntryBytes(path: string, data: Uint8Array, entry: ZipEntry): Promise<Uint8Array> {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (what: string) => new InputError(path, `entry ${JSON.stringify(entry.name)}: ${what}`);
  const h = entry.headerOffset;
  if (h + 30 > data.length || v.getUint32(h, true) !== LOCAL) throw fail("local header missing: truncated archive?");
  const start = h + 30 + v.getUint16(h + 26, true) + v.getUint16(h + 28, true);
  const end = start + entry.compressedSize;
  if (end > data.length) throw fail("its data runs past the end of the archive: truncated?");
  const packed = data.subarray(start, end);
  let bytes: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw fail("stored with two different sizes");
    bytes = packed;
  } else if (entry.method === 8) {
    try {
      bytes = await decompress(packed, "deflate-raw", entry.size);
    } catch (e) {
      if (e instanceof InflateLimitError) throw fail(`inflates past its declared ${entry.size} bytes (a zip bomb?)`);
      throw fail(`corrupt deflate data (${(e as Error).message})`);
    }
  } else throw fail(`compression method ${entry.method} is not read (only stored and deflate)`);
  if (bytes.length !== entry.size) throw fail(`inflates to ${bytes.length} bytes, not the declared ${entry.size}`);
  if (((crc32(bytes) ^ 0xffffffff) >>> 0) !== entry.crc) throw fail("CRC-32 mismatch: the archive is damaged");
  return bytes;
}
