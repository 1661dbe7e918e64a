/**
 * Tissue volumes: per-class volume in mL (voxel count × voxel volume of the
 * output grid) and total intracranial volume, as rows of a CSV / TSV / JSON
 * table that a batch appends to.
 *
 * @module
 */
import { det3 } from "../geometry/affine.ts";
import { InputError } from "../core/errors.ts";
import { errorText, writeFileAtomic } from "../core/fsutil.ts";
import { BIDS_STANDARD_LABELS, type ClassInfo } from "../cards/card.ts";
import type { Volume } from "../core/types.ts";
import { parseJsonBounded } from "../core/limits.ts";

/** One row: the input, TIV and each class's volume (mL). */
export interface VolumeRow {
  /** The input, as named by the caller. */
  input: string;
  /** Total intracranial volume (sum of the intracranial classes), mL. */
  tiv_ml: number;
  /** Per class, keyed by abbreviation: `GM_ml`, … */
  [column: string]: string | number;
}

/**
 * Per-class volumes (mL) and TIV of a label volume.
 *
 * @example
 * ```ts
 * import { makeVolume } from "../io/volume.ts";
 * import { SIAM_V03 } from "../cards/shipped.ts";
 * import { tissueVolumes } from "./volumes.ts";
 *
 * const labels = makeVolume(new Uint8Array(1000).fill(1), [10, 10, 10]); // 1 mm voxels, all gray matter
 * console.log(tissueVolumes(labels, SIAM_V03.classes, SIAM_V03.intracranial, "x").GM_ml); // 1
 * ```
 */
export function tissueVolumes(labels: Volume, table: ClassInfo[], intracranial: number[], input: string): VolumeRow {
  const counts = new Float64Array(table.length);
  for (let i = 0; i < labels.data.length; i++) counts[labels.data[i]]++;
  const voxelMl = Math.abs(det3(labels.affine.slice(0, 3).map((r) => r.slice(0, 3)))) / 1000;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const row: VolumeRow = { input, tiv_ml: round(intracranial.reduce((a, c) => a + counts[c], 0) * voxelMl) };
  for (const c of table) row[`${c.abbreviation}_ml`] = round(counts[c.index] * voxelMl);
  return row;
}

function format(path: string): "csv" | "tsv" | "json" {
  const l = path.toLowerCase();
  if (l.endsWith(".csv")) return "csv";
  if (l.endsWith(".tsv")) return "tsv";
  if (l.endsWith(".json")) return "json";
  throw new InputError(path, "volumes table must end in .csv, .tsv or .json", 64);
}

function quote(v: string | number, sep: string): string {
  const s = String(v);
  return s.includes(sep) || s.includes('"') || s.includes("\n") ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The columns of a volumes table for a label table: input, TIV, then `<abbreviation>_ml` per class. */
export function volumeColumns(table: ClassInfo[]): string[] {
  return ["input", "tiv_ml", ...table.map((c) => `${c.abbreviation}_ml`)];
}

/** The table's text now, or undefined when there is none; a one-line error when it cannot be read. */
async function readTable(path: string): Promise<string | undefined> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) throw new InputError(path, "the volumes table is not a regular file", 73);
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    if (e instanceof InputError) throw e;
    throw new InputError(path, `cannot read the volumes table (${errorText(e)})`, 73);
  }
}

/** The rows of an existing JSON table, or a one-line error. */
function jsonRows(path: string, text: string): unknown[] {
  let prior: unknown;
  try {
    prior = parseJsonBounded(text);
  } catch (e) {
    throw new InputError(path, `existing volumes table is not valid JSON (${errorText(e)})`);
  }
  if (!Array.isArray(prior)) throw new InputError(path, "existing volumes table is not a JSON array");
  return prior;
}

/** The header line of a CSV/TSV table with these columns. */
function headerLine(path: string, columns: string[]): string {
  return columns.join(format(path) === "csv" ? "," : "\t");
}

/** Compares an existing CSV/TSV table's header with ours; a one-line error when they differ. */
function checkHeader(path: string, text: string, header: string): void {
  const first = text.split("\n")[0].replace(/\r$/, "");
  if (first !== header) {
    const shown = first.length <= 60 && /^[\x20-\x7e\t]*$/.test(first) ? first : `${first.length} characters`;
    throw new InputError(path, `existing volumes table has other columns (${shown}); give another --vol file`);
  }
}

/**
 * Checks, before any work, that rows with `columns` can be appended to the
 * table at `path`: missing, or readable with the same columns (CSV/TSV) or
 * a JSON array. Throws a one-line {@linkcode InputError} otherwise.
 */
export async function checkVolumesTable(path: string, columns: string[]): Promise<void> {
  const text = await readTable(path);
  if (!text) return;
  if (format(path) === "json") jsonRows(path, text);
  else checkHeader(path, text, headerLine(path, columns));
}

/**
 * The bytes of the table at `path` with `rows` appended (created with a
 * header when new). An existing table with other columns is an error.
 */
export async function volumesTableBytes(path: string, rows: VolumeRow[]): Promise<Uint8Array> {
  const f = format(path);
  const existing = await readTable(path);
  if (f === "json") {
    const prior = existing ? jsonRows(path, existing) : [];
    return new TextEncoder().encode(JSON.stringify([...prior, ...rows], null, 2) + "\n");
  }
  const sep = f === "csv" ? "," : "\t";
  const columns = Object.keys(rows[0]);
  const header = columns.join(sep);
  let text = existing ?? "";
  if (text) {
    checkHeader(path, text, header);
    if (!text.endsWith("\n")) text += "\n";
  } else text = header + "\n";
  for (const r of rows) text += columns.map((c) => quote(r[c], sep)).join(sep) + "\n";
  return new TextEncoder().encode(text);
}

/**
 * Appends rows to a table (created with a header when new), atomically. An
 * existing table with other columns is an error, not overwritten.
 */
export async function appendVolumes(path: string, rows: VolumeRow[]): Promise<void> {
  await writeFileAtomic(path, await volumesTableBytes(path, rows));
}

/**
 * The BIDS-style label table (index, name, abbreviation, color, mapping) as
 * TSV text; `mapping` is the integer of the standard BIDS label lookup.
 */
export function labelTableTsv(table: ClassInfo[]): string {
  const hex = (c: number[]) => "#" + c.slice(0, 3).map((x) => x.toString(16).padStart(2, "0")).join("");
  return [
    "index\tname\tabbreviation\tcolor\tmapping",
    ...table.map((c) =>
      `${c.index}\t${c.name}\t${c.abbreviation}\t${hex(c.color)}\t${(c.bids && BIDS_STANDARD_LABELS[c.bids]) ?? "n/a"}`
    ),
  ]
    .join("\n") + "\n";
}
