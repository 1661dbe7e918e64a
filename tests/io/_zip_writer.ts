/**
 * A small zip writer for tests: stored or deflated entries, with a central
 * directory, and ways to lie (a declared size smaller than the data) so
 * that the reader's guards can be tested.
 *
 * @module
 */
import { compress } from "../../lib/io/gzip.ts";
import { crc32 } from "../../lib/io/png.ts";
import { concatBytes } from "../../lib/core/bytes.ts";

/** One entry to write. */
export interface ZipSpec {
  name: string;
  data: Uint8Array;
  /** Deflate it (default true). */
  deflate?: boolean;
  /** Declare this uncompressed size in place of the real one (a lie). */
  declaredSize?: number;
  /** Store these raw deflate bytes as the entry's data in place of deflating `data` (a bomb; CRC 0). */
  rawDeflate?: Uint8Array;
}

const u16 = (v: DataView, at: number, n: number) => v.setUint16(at, n, true);
const u32 = (v: DataView, at: number, n: number) => v.setUint32(at, n, true);

/** The bytes of a zip archive holding `entries`. */
export async function zipBytes(entries: ZipSpec[]): Promise<Uint8Array> {
  const locals: Uint8Array[] = [], centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const deflate = e.rawDeflate !== undefined || (e.deflate ?? true);
    const packed = e.rawDeflate ?? (deflate ? await compress(e.data, "deflate-raw") : e.data);
    const crc = e.rawDeflate ? 0 : (crc32(e.data) ^ 0xffffffff) >>> 0;
    const size = e.declaredSize ?? e.data.length;
    const local = new Uint8Array(30 + name.length + packed.length);
    const lv = new DataView(local.buffer);
    u32(lv, 0, 0x04034b50);
    u16(lv, 4, 20);
    u16(lv, 8, deflate ? 8 : 0);
    u32(lv, 14, crc);
    u32(lv, 18, packed.length);
    u32(lv, 22, size);
    u16(lv, 26, name.length);
    local.set(name, 30);
    local.set(packed, 30 + name.length);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    u32(cv, 0, 0x02014b50);
    u16(cv, 4, 20);
    u16(cv, 6, 20);
    u16(cv, 10, deflate ? 8 : 0);
    u32(cv, 16, crc);
    u32(cv, 20, packed.length);
    u32(cv, 24, size);
    u16(cv, 28, name.length);
    u32(cv, 42, offset);
    central.set(name, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cdSize = centrals.reduce((s, c) => s + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  u32(ev, 0, 0x06054b50);
  u16(ev, 8, entries.length);
  u16(ev, 10, entries.length);
  u32(ev, 12, cdSize);
  u32(ev, 16, offset);
  const parts = [...locals, ...centrals, end];
  return concatBytes(parts);
}

/** A zip archive of every file in `dir` (names relative to it, one level), written to `path`. */
export async function zipFolder(dir: string, path: string, extra: ZipSpec[] = []): Promise<void> {
  const entries: ZipSpec[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) entries.push({ name: `series/${e.name}`, data: await Deno.readFile(`${dir}/${e.name}`) });
  }
  entries.sort((a, b) => a.name < b.name ? -1 : 1);
  await Deno.writeFile(path, await zipBytes([...entries, ...extra]));
}
