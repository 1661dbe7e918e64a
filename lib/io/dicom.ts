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
import { EXIT_NOINPUT, InputError } from "../core/errors.ts";
import { bytesText } from "../core/limits.ts";
import type { Volume } from "../core/types.ts";
import { type Converted, DCM2NIIX_ARGS, type Dcm2niixModule, loadDcm2niix, WASM_HEAP_BYTES } from "./_dcm2niix.ts";
import { type DicomSource, hasDicomMagic, isDicomFileInput, isDicomFolder, openDicomSource } from "./dicom_source.ts";
import { convertNative, wasmInputLimit } from "./dcm2niix_native.ts";
import { describeGaps } from "./dicom_gaps.ts";
import { type SliceHeader, sliceHeader } from "./dicom_header.ts";
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
  /**
   * For a series dcm2niix warned about: the slices that break its grid, by
   * instance number and position along the slice normal (e.g. `missing
   * slice between instance 4 and 6 (z = 3.0 → 6.0 mm)`); empty otherwise.
   */
  gapSlices: string[];
}

/** One converted series. */
export interface DicomSeries extends DicomInfo {
  /** The reconstructed volume (NIfTI grid of dcm2niix). */
  volume: Volume;
}

/** Options for {@linkcode readDicom}. */
export interface DicomReadOptions {
  /** Take dcm2niix's equidistant volume for series with gaps instead of failing. @default false */
  allowGaps?: boolean;
  /** Receives dcm2niix's log lines (for `-v`). */
  log?: (line: string) => void;
  /** Read only the series with this SeriesNumber (the others are converted, not read). */
  series?: number;
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
    const m = l.match(/^Convert \d+ DICOM as \S*\/([^/\s]+)/);
    if (m) {
      out.set(m[1], pending);
      pending = [];
    } else if (/warning/i.test(l)) pending.push(l.replace(/^! /, "").replace(/^Warning:\s*/i, "").trim());
  }
  return out;
}

function gapError(dir: string, label: string, gaps: string[], named: string[], fillable: boolean): InputError {
  const hint = fillable ? "; --dicom-allow-gaps takes dcm2niix's equidistant volume" : "";
  const which = named.length > 0 ? `: ${named.join("; ")} (dcm2niix: ${gaps.join("; ")})` : ` (${gaps.join("; ")})`;
  return new InputError(dir, `${label}: slices are not one regular grid${which}${hint}`);
}

/** The slices of series `uid` in `source` that break its grid (header reads only; the error path). */
async function namedGaps(source: DicomSource, uid: unknown): Promise<string[]> {
  const slices: SliceHeader[] = [];
  for (const item of source.items) {
    const bytes = await item.read();
    if (!hasDicomMagic(bytes)) continue;
    const h = sliceHeader(bytes);
    if (h && h.uid === uid) slices.push(h);
  }
  return describeGaps(slices);
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "");

/**
 * Runs the shared dcm2niix instance over the DICOM files of `source`
 * (read one at a time into its in-memory file system; files without the
 * DICM magic, e.g. a zip's README, are skipped). Returns the names it
 * wrote, a reader for them, and its log.
 */
async function convertInWasm(source: DicomSource): Promise<Converted> {
  const turn = lock;
  let release!: () => void;
  lock = new Promise<void>((r) => release = r);
  await turn; // one conversion at a time: a batch may read its next input while one is converting
  let conv: Converted;
  try {
    conv = await convertLocked(source);
  } catch (e) {
    release();
    throw e;
  }
  return {
    ...conv,
    done: async () => {
      try {
        await conv.done();
      } finally {
        release(); // the next conversion may start once this one's outputs are freed
      }
    },
  };
}

/** The tail of the queue of conversions using the shared instance (see {@linkcode convertInWasm}). */
let lock: Promise<void> = Promise.resolve();

async function convertLocked(source: DicomSource): Promise<Converted> {
  const { mod, log } = await dcm2niix();
  clear(mod, "/in");
  clear(mod, "/out");
  log.length = 0;
  let rc: number;
  try {
    let n = 0;
    for (const [i, item] of source.items.entries()) {
      const bytes = await item.read();
      if (!hasDicomMagic(bytes)) continue;
      mod.FS.writeFile(`/in/${i}.dcm`, bytes);
      n++;
    }
    if (n === 0) {
      throw new InputError(
        source.path,
        "no DICOM files in the archive (none starts with DICM at byte 128)",
        EXIT_NOINPUT,
      );
    }
    rc = mod.callMain([...DCM2NIIX_ARGS, "-o", "/out", "/in"]);
  } catch (e) {
    clear(mod, "/in");
    if (e instanceof InputError) throw e;
    instance = undefined; // an aborted instance is not reused
    throw new InputError(
      source.path,
      `dcm2niix failed (${(e as Error).message}); the last line it wrote: ${log.at(-1) ?? ""}`,
    );
  }
  clear(mod, "/in");
  return {
    rc,
    log: [...log],
    outputs: mod.FS.readdir("/out").filter((n) => n !== "." && n !== ".."),
    read: (name) => Promise.resolve(mod.FS.readFile(`/out/${name}`)),
    done: () => Promise.resolve(clear(mod, "/out")),
  };
}

/**
 * Converts every DICOM series of a folder, a `.zip` of DICOM files or one
 * DICOM file (a multi-frame image; a single slice is refused, its folder
 * holds the series) with one dcm2niix instance; returns them sorted by
 * series number. Errors are one-line {@linkcode InputError}s naming `path`
 * (and the series at fault).
 */
export async function readDicom(path: string, options: DicomReadOptions = {}): Promise<DicomSeries[]> {
  const source = await openDicomSource(path);
  let conv: Converted;
  const limit = wasmInputLimit();
  if (source.total > limit) {
    const native = await convertNative(source);
    if ("unavailable" in native) {
      throw new InputError(
        path,
        `DICOM files sum to ${bytesText(source.total)}, more than the ${
          bytesText(limit)
        } dcm2niix's WASM build holds ` +
          `(its heap is ${bytesText(WASM_HEAP_BYTES)}), and ${native.unavailable}: install dcm2niix, or convert the ` +
          `series with it and give the NIfTI`,
      );
    }
    conv = native.converted;
  } else conv = await convertInWasm(source);
  try {
    for (const l of conv.log) options.log?.(l);
    const series = await collectSeries(source, conv, options);
    if (source.kind === "file" && series.length === 1 && (series[0].volume.dims[2] ?? 1) <= 1) {
      throw new InputError(
        path,
        "a single-slice DICOM file: give the folder that holds its series (or a multi-frame file)",
      );
    }
    return series;
  } finally {
    await conv.done();
  }
}

/** The series dcm2niix wrote (`conv`), geometry-guarded, as {@linkcode DicomSeries}. */
async function collectSeries(source: DicomSource, conv: Converted, options: DicomReadOptions): Promise<DicomSeries[]> {
  const { path } = source;
  const { outputs, log, rc } = conv;
  const bases = outputs.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)).sort();
  if (rc !== 0 || bases.length === 0) {
    const why = log.filter((l) => /error/i.test(l)).at(-1) ?? log.at(-1) ?? "";
    throw new InputError(path, `dcm2niix converted nothing (exit ${rc}): ${why.replace(/^! /, "")}`);
  }
  const warnings = warningsByOutput(log);
  const series: DicomSeries[] = [];
  for (const base of bases) {
    const meta = JSON.parse(new TextDecoder().decode(await conv.read(`${base}.json`)));
    const label = `series ${meta.SeriesNumber ?? "?"}${meta.SeriesDescription ? ` "${meta.SeriesDescription}"` : ""}`;
    if (options.series !== undefined && meta.SeriesNumber !== options.series) continue;
    const w = warnings.get(base) ?? [];
    const gaps = w.filter((l) => GAP_WARNING.test(l));
    const parts = outputs.filter((n) => n.startsWith(`${base}_`) && n.endsWith(".nii"));
    if (parts.some((n) => /_i\d+\.nii$/.test(n))) {
      throw new InputError(path, `${label}: slices with mixed orientations (dcm2niix split it in ${parts.length})`);
    }
    let file = `${base}.nii`;
    const gapSlices = gaps.length > 0 ? await namedGaps(source, meta.SeriesInstanceUID) : [];
    if (gaps.length > 0) {
      const eq = parts.find((n) => /_Eq_\d+\.nii$/.test(n));
      if (!options.allowGaps || !eq) throw gapError(path, label, gaps, gapSlices, eq !== undefined);
      file = eq;
    }
    const equidistant = file !== `${base}.nii`;
    if (!outputs.includes(file)) throw new InputError(path, `${label}: dcm2niix wrote no ${file}`);
    const volume = await parseNifti(`${path} (${label})`, await conv.read(file));
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
      gapSlices,
    });
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

/**
 * Whether `path` is DICOM input: a series path, a folder holding DICOM
 * files, or a file that is DICOM by content (a DICOM file, a zip archive).
 */
export async function isDicomInput(path: string): Promise<boolean> {
  return parseSeriesPath(path) !== undefined || await isDicomFolder(path) || await isDicomFileInput(path);
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
      throw gapError(dir, label, gaps, hit.gapSlices, true);
    }
    const { volume, ...info } = hit;
    infos.set(path, info);
    return volume;
  }
  const got = await readDicom(dir, {
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
