/**
 * Where DICOM input comes from: a folder (DICOM files recognised by the
 * `DICM` magic at byte 128, up to 5 folders deep), a `.zip` of DICOM files
 * (recognised by its `PK` signature, whatever its extension; read in
 * memory, bounded, see `zip.ts`), or one DICOM file (a multi-frame image,
 * or a single slice). Each source lists its files with their sizes and
 * reads them one at a time, so that the converter receives bytes and no
 * archive entry ever touches the disk.
 *
 * @module
 */
import { EXIT_NOINPUT, InputError } from "../core/errors.ts";
import { errorText, readFileHead } from "../core/fsutil.ts";
import { bytesText, ceilingText, checkInputFile, maxInputBytes } from "../core/limits.ts";
import { isZipFile, zipEntries, zipEntryBytes } from "./zip.ts";

/** Folder depth searched for DICOM files (as dcm2niix's default). */
const MAX_DEPTH = 5;

/** Whether `bytes` carry the DICOM preamble's `DICM` at byte 128. */
export function hasDicomMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 &&
    bytes[131] === 0x4d;
}

/**
 * Whether the file at `path` is a regular file (never a FIFO or device,
 * which could block or never end) starting with a DICOM preamble (`DICM`
 * at byte 128).
 */
export async function isDicomFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile && hasDicomMagic(await readFileHead(path, 132));
  } catch {
    return false;
  }
}

/** The DICOM files under `dir` (5 folders deep), with their sizes, sorted by path. */
export async function dicomFiles(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const walk = async (d: string, depth: number) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory && depth < MAX_DEPTH) await walk(p, depth + 1);
      else if (e.isFile && await isDicomFile(p)) out.push({ path: p, size: (await Deno.stat(p)).size });
    }
  };
  await walk(dir.replace(/\/+$/, "") || "/", 0);
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** Whether `path` is a folder holding at least one DICOM file. */
export async function isDicomFolder(path: string): Promise<boolean> {
  try {
    if (!(await Deno.stat(path)).isDirectory) return false;
    return (await dicomFiles(path)).length > 0;
  } catch {
    return false;
  }
}

/** Whether `path` is a file that is DICOM input by content: a DICOM file or a zip archive. */
export async function isDicomFileInput(path: string): Promise<boolean> {
  return await isDicomFile(path) || await isZipFile(path);
}

/** One file of a source. */
export interface DicomItem {
  /** Its name (a path in a folder, an entry name in an archive): for messages only. */
  name: string;
  /** Its size in bytes (declared uncompressed size for an archive entry). */
  size: number;
  /** Its bytes (an archive entry: inflated now, bounded by its declared size). */
  read(): Promise<Uint8Array>;
}

/** DICOM input, listed. */
export interface DicomSource {
  /** What the user named. */
  path: string;
  /** A folder, a zip archive, or one DICOM file. */
  kind: "folder" | "zip" | "file";
  /** The files (for a zip: every file entry; those without the DICM magic are skipped when read). */
  items: DicomItem[];
  /** The sum of `items`' sizes. */
  total: number;
}

/**
 * Lists the DICOM input at `path` (a folder, a zip archive, a DICOM file),
 * refusing a sum of sizes above `SIAMIZE_MAX_INPUT_BYTES` before anything
 * is read or inflated. Errors are one-line {@linkcode InputError}s naming
 * `path`: 66 when there is nothing to read, 65 for bad data.
 */
export async function openDicomSource(path: string): Promise<DicomSource> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    throw new InputError(path, `cannot read (${errorText(e)})`, EXIT_NOINPUT, { cause: e });
  }
  let source: DicomSource;
  if (st.isDirectory) {
    let files: { path: string; size: number }[];
    try {
      files = await dicomFiles(path);
    } catch (e) {
      throw new InputError(path, `cannot read the folder (${errorText(e)})`, EXIT_NOINPUT, { cause: e });
    }
    if (files.length === 0) {
      throw new InputError(path, "no DICOM files (none starts with DICM at byte 128)", EXIT_NOINPUT);
    }
    const items = files.map((f) => ({ name: f.path, size: f.size, read: () => Deno.readFile(f.path) }));
    source = { path, kind: "folder", items, total: 0 };
  } else {
    await checkInputFile(path, "DICOM or zip");
    if (await isZipFile(path)) {
      const data = await Deno.readFile(path);
      const entries = zipEntries(path, data).filter((e) => !e.isFolder);
      if (entries.length === 0) throw new InputError(path, "the zip archive holds no files", EXIT_NOINPUT);
      const items = entries.map((e) => ({ name: e.name, size: e.size, read: () => zipEntryBytes(path, data, e) }));
      source = { path, kind: "zip", items, total: 0 };
    } else if (await isDicomFile(path)) {
      source = {
        path,
        kind: "file",
        items: [{ name: path, size: st.size, read: () => Deno.readFile(path) }],
        total: 0,
      };
    } else {
      throw new InputError(path, "neither a DICOM file (no DICM at byte 128) nor a zip archive");
    }
  }
  source.total = source.items.reduce((s, f) => s + f.size, 0);
  if (source.total > maxInputBytes()) {
    const what = source.kind === "zip" ? "the archive's files inflate to" : "DICOM files sum to";
    throw new InputError(path, `${what} ${bytesText(source.total)}; ${ceilingText()}`);
  }
  return source;
}
