/**
 * DICOM series in: a folder of DICOM files (recognised by the `DICM` magic
 * at byte 128, not by extension) converted by dcm2niix's WASM build into
 * raw NIfTI and read with our NIfTI reader, one {@linkcode DicomSeries} per
 * series. A geometry guard refuses series dcm2niix warns about (varying
 * slice spacing, missing slices, mixed orientations) unless gaps are
 * allowed, in which case dcm2niix's equidistant volume is taken.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { bytesText, ceilingText, maxInputBytes } from "../core/limits.ts";
import type { Volume } from "../core/types.ts";
import { type Dcm2niixModule, loadDcm2niix, WASM_HEAP_BYTES } from "./_dcm2niix.ts";
import { parseNifti } from "./nifti.ts";

/** Where a volume read from DICOM came from (recorded by `--report`). */
export interface DicomInfo {
  /** SeriesNumber (0020,0011), if present. */
  seriesNumber?: number;
  /** SeriesDescription (0008,103E), if present. */
  description?: string;
  /** SeriesInstanceUID (0020,000E), if present. */
  uid?: string;
  /** The converter and its version, e.g. `"dcm2niix v1.0.20241231"`. */
  converter: string;
  /** A name for batch outputs: `"<number>_<description>"`, file-name safe. */
  name: string;
  /** dcm2niix's warnings for this series. */
  warnings: string[];
  /** Whether dcm2niix's equidistant volume was taken for a series with gaps (`--dicom-allow-gaps`). */
  equidistant: boolean;
}

/** One converted series. */
export interface DicomSeries extends DicomInfo {
  /** The reconstructed volume (NIfTI grid of dcm2niix). */
  volume: Volume;
}

/** Options for {@linkcode readDicomFolder}. */
export interface DicomReadOptions {
  /** Take dcm2niix's equidistant volume for series with gaps instead of failing. @default false */
  allowGaps?: boolean;
  /** Receives dcm2niix's log lines (for `-v`). */
  log?: (line: string) => void;
  /** Read only the series with this SeriesNumber (the others are converted, not read). */
  series?: number;
}

/** Folder depth searched for DICOM files (as dcm2niix's default). */
const MAX_DEPTH = 5;

/** Whether the file at `path` starts with a DICOM preamble (`DICM` at byte 128). */
export async function isDicomFile(path: string): Promise<boolean> {
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(path, { read: true });
    const b = new Uint8Array(132);
    let got = 0;
    while (got < 132) {
      const n = await f.read(b.subarray(got));
      if (n === null) return false;
      got += n;
    }
    return b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
  } catch {
    return false;
  } finally {
    f?.close();
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

let instance: Promise<{ mod: Dcm2niixModule; log: string[] }> | undefined;

/** The shared dcm2niix instance (loaded once per process, reused for every folder). */
function dcm2niix(): Promise<{ mod: Dcm2niixModule; log: string[] }> {
  if (!instance) {
    const log: string[] = [];
    instance = loadDcm2niix(log).then((mod) => ({ mod, log }));
  }
  return instance;
}

function clear(mod: Dcm2niixModule, dir: string): void {
  let names: string[];
  try {
    names = mod.FS.readdir(dir);
  } catch {
    mod.FS.mkdir(dir);
    return;
  }
  for (const n of names) {
    if (n === "." || n === "..") continue;
    const p = `${dir}/${n}`;
    if (mod.FS.isDir(mod.FS.stat(p).mode)) {
      clear(mod, p);
      mod.FS.rmdir(p);
    } else mod.FS.unlink(p);
  }
}

/** Warnings that mean the slices do not make one regular grid. */
const GAP_WARNING =
  /interslice distance varies|missing images|slices not equidistant|varying slice|orientation varies/i;

/** dcm2niix's warnings per output base name (warnings precede each `Convert ... as /out/NAME`). */
function warningsByOutput(lines: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let pending: string[] = [];
  for (const l of lines) {
    const m = l.match(/^Convert \d+ DICOM as \/out\/(\S+)/);
    if (m) {
      out.set(m[1], pending);
      pending = [];
    } else if (/warning/i.test(l)) pending.push(l.replace(/^! /, "").replace(/^Warning:\s*/i, "").trim());
  }
  return out;
}

function gapError(dir: string, label: string, gaps: string[], fillable: boolean): InputError {
  const hint = fillable ? "; --dicom-allow-gaps takes dcm2niix's equidistant volume" : "";
  return new InputError(dir, `${label}: slices are not one regular grid (${gaps.join("; ")})${hint}`);
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "");

/**
 * Converts every DICOM series under `dir` with one dcm2niix instance;
 * returns them sorted by series number. Errors are one-line
 * {@linkcode InputError}s naming `dir` (and the series at fault).
 */
export async function readDicomFolder(dir: string, options: DicomReadOptions = {}): Promise<DicomSeries[]> {
  let files: { path: string; size: number }[];
  try {
    files = await dicomFiles(dir);
  } catch (e) {
    throw new InputError(dir, `cannot read the folder (${(e as Error).message})`, 66);
  }
  if (files.length === 0) throw new InputError(dir, "no DICOM files (none starts with DICM at byte 128)", 66);
  const total = files.reduce((s, f) => s + f.size, 0);
  if (total > maxInputBytes()) throw new InputError(dir, `DICOM files sum to ${bytesText(total)}; ${ceilingText()}`);
  // the files, the converted volume and dcm2niix's working copies share the WASM heap
  if (2 * total > WASM_HEAP_BYTES) {
    throw new InputError(
      dir,
      `DICOM files sum to ${bytesText(total)}; dcm2niix's WASM heap (${bytesText(WASM_HEAP_BYTES)}) holds at most ${
        bytesText(WASM_HEAP_BYTES / 2)
      } of input: convert it with a native dcm2niix and give the NIfTI`,
    );
  }
  const { mod, log } = await dcm2niix();
  clear(mod, "/in");
  clear(mod, "/out");
  log.length = 0;
  let rc: number;
  try {
    files.forEach((f, i) => mod.FS.writeFile(`/in/${i}.dcm`, Deno.readFileSync(f.path)));
    rc = mod.callMain(["-b", "y", "-ba", "n", "-z", "n", "-f", "s%s_%j", "-o", "/out", "/in"]);
  } catch (e) {
    instance = undefined; // an aborted instance is not reused
    throw new InputError(dir, `dcm2niix failed (${(e as Error).message}); the last line it wrote: ${log.at(-1) ?? ""}`);
  } finally {
    clear(mod, "/in");
  }
  for (const l of log) options.log?.(l);
  const outputs = mod.FS.readdir("/out");
  const bases = outputs.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)).sort();
  if (rc !== 0 || bases.length === 0) {
    const why = log.filter((l) => /error/i.test(l)).at(-1) ?? log.at(-1) ?? "";
    clear(mod, "/out");
    throw new InputError(dir, `dcm2niix converted nothing (exit ${rc}): ${why.replace(/^! /, "")}`);
  }
  const warnings = warningsByOutput(log);
  const series: DicomSeries[] = [];
  try {
    for (const base of bases) {
      const meta = JSON.parse(new TextDecoder().decode(mod.FS.readFile(`/out/${base}.json`)));
      const label = `series ${meta.SeriesNumber ?? "?"}${meta.SeriesDescription ? ` "${meta.SeriesDescription}"` : ""}`;
      if (options.series !== undefined && meta.SeriesNumber !== options.series) continue;
      const w = warnings.get(base) ?? [];
      const gaps = w.filter((l) => GAP_WARNING.test(l));
      const parts = outputs.filter((n) => n.startsWith(`${base}_`) && n.endsWith(".nii"));
      if (parts.some((n) => /_i\d+\.nii$/.test(n))) {
        throw new InputError(dir, `${label}: slices with mixed orientations (dcm2niix split it in ${parts.length})`);
      }
      let file = `${base}.nii`;
      if (gaps.length > 0) {
        const eq = parts.find((n) => /_Eq_\d+\.nii$/.test(n));
        if (!options.allowGaps || !eq) throw gapError(dir, label, gaps, eq !== undefined);
        file = eq;
      }
      const equidistant = file !== `${base}.nii`;
      if (!outputs.includes(file)) throw new InputError(dir, `${label}: dcm2niix wrote no ${file}`);
      const volume = await parseNifti(`${dir} (${label})`, mod.FS.readFile(`/out/${file}`));
      const number = typeof meta.SeriesNumber === "number" ? meta.SeriesNumber : undefined;
      const description = typeof meta.SeriesDescription === "string" ? meta.SeriesDescription : undefined;
      series.push({
        volume,
        seriesNumber: number,
        description,
        uid: typeof meta.SeriesInstanceUID === "string" ? meta.SeriesInstanceUID : undefined,
        converter: `${meta.ConversionSoftware ?? "dcm2niix"} ${meta.ConversionSoftwareVersion ?? ""}`.trim(),
        name: safe(`${number ?? "x"}_${description ?? ""}`) || "series",
        warnings: w,
        equidistant,
      });
    }
  } finally {
    clear(mod, "/out");
  }
  return series.sort((a, b) => (a.seriesNumber ?? 0) - (b.seriesNumber ?? 0));
}

/** The marker of a series path: `DIR#series=N[+gaps]/NAME`. */
const SERIES_PATH = /^(.*)#series=(\d+)(\+gaps)?\/([^/]*)$/;

/**
 * A path naming one series of a DICOM folder, `DIR#series=N[+gaps]/NAME`:
 * an input of a batch whose base name (`NAME`, from series number and
 * description) names its outputs; {@linkcode readDicomVolume} reads it.
 */
export function seriesPath(dir: string, s: Pick<DicomInfo, "seriesNumber" | "name">, allowGaps = false): string {
  return `${dir.replace(/\/+$/, "")}#series=${s.seriesNumber ?? 0}${allowGaps ? "+gaps" : ""}/${s.name}`;
}

/** The folder, series number and gap choice of a series path, or undefined. */
export function parseSeriesPath(path: string): { dir: string; series: number; allowGaps: boolean } | undefined {
  const m = path.match(SERIES_PATH);
  return m ? { dir: m[1], series: Number(m[2]), allowGaps: m[3] !== undefined } : undefined;
}

/** Whether `path` is a series path or a folder holding DICOM files. */
export async function isDicomInput(path: string): Promise<boolean> {
  return parseSeriesPath(path) !== undefined || await isDicomFolder(path);
}

const infos = new Map<string, DicomInfo>();
const primed = new Map<string, DicomSeries>();

/**
 * Keeps a series a listing already converted (read with gaps allowed) so
 * that the next {@linkcode readDicomVolume} of `path` takes it instead of
 * converting the folder again; the geometry guard still applies then.
 */
export function primeSeries(path: string, series: DicomSeries): void {
  primed.clear(); // one at a time: memory stays that of one volume
  primed.set(path, series);
}

/** What {@linkcode readDicomVolume} read at `path` in this process (for `--report`), or undefined. */
export function dicomInfoOf(path: string): DicomInfo | undefined {
  return infos.get(path);
}

/**
 * Reads one volume from a series path or a DICOM folder holding one series
 * (a folder with several names them and asks for one).
 */
export async function readDicomVolume(path: string, options: DicomReadOptions = {}): Promise<Volume> {
  const sp = parseSeriesPath(path);
  const dir = sp?.dir ?? path;
  const hit = primed.get(path);
  if (hit) {
    primed.delete(path);
    const gaps = hit.warnings.filter((l) => GAP_WARNING.test(l));
    if (hit.equidistant && !(sp?.allowGaps || options.allowGaps)) {
      const label = `series ${hit.seriesNumber ?? "?"}${hit.description ? ` "${hit.description}"` : ""}`;
      throw gapError(dir, label, gaps, true);
    }
    const { volume, ...info } = hit;
    infos.set(path, info);
    return volume;
  }
  const got = await readDicomFolder(dir, {
    ...options,
    series: sp?.series ?? options.series,
    allowGaps: sp?.allowGaps || options.allowGaps,
  });
  if (got.length === 0) throw new InputError(dir, `no DICOM series ${sp?.series ?? options.series}`, 66);
  if (got.length > 1) {
    const names = got.map((s) => `${s.seriesNumber ?? "?"} "${s.description ?? ""}"`).join(", ");
    throw new InputError(dir, `holds ${got.length} DICOM series (${names}): pick one with --series N`, 64);
  }
  const { volume, ...info } = got[0];
  infos.set(path, info);
  return volume;
}
