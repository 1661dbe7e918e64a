/**
 * BIDS derivatives: find anatomical scans in a BIDS dataset, name their
 * derivatives (`<source entities>_seg-siam_desc-<suffix>_dseg.nii.gz`,
 * `_probseg.nii.gz`), and write the sidecars and the derivative dataset's
 * metadata (dataset_description.json, dseg.tsv, README.md, .bidsignore).
 *
 * The rules followed are those of BIDS {@linkcode BIDS_VERSION} (derivatives:
 * "Common data types and metadata" and "Imaging data types"; the entity order
 * of its schema puts `seg` before `desc`).
 *
 * @module
 */
import { isAbsolute, join, relative, resolve, toFileUrl } from "../core/_std.ts";
import { EXIT_DATAERR, EXIT_NOINPUT, SiamizeError } from "../core/errors.ts";
import { errorText, exists, writeFileAtomic } from "../core/fsutil.ts";
import type { ClassInfo } from "../cards/card.ts";
import { VERSION } from "../run/report.ts";
import { labelTableTsv } from "../outputs/volumes.ts";
import { parseJsonBounded } from "../core/limits.ts";

/** The BIDS version whose derivative rules the outputs follow (declared as `BIDSVersion`). */
export const BIDS_VERSION = "1.10.1";
/** BIDS Apps exit code: the input dataset failed (our basic) BIDS validation. */
export const EXIT_INVALID_DATASET = 16;
/** BIDS Apps exit code: unknown analysis level. */
export const EXIT_UNKNOWN_LEVEL = 17;
/** BIDS Apps exit code: the filters selected nothing. */
export const EXIT_NO_MATCH = 18;
/** The `seg-<label>` of every output. */
export const SEG_LABEL = "siam";
/** The group-level table, at the top of the derivative dataset (named in `.bidsignore`). */
export const GROUP_TABLE = "group_volumes.tsv";

/** One anatomical scan of a BIDS dataset. */
export interface BidsScan {
  subject: string;
  session?: string;
  /** Absolute path. */
  path: string;
  /** Path relative to the dataset root (for `bids:raw:` URIs). */
  relative: string;
  /** File name without the suffix and extension: `sub-01_ses-1_run-1`. */
  entities: string;
  /** The suffix it matched (`T1w`, …). */
  suffix: string;
}

/** Filters for {@linkcode findBidsScans}. */
export interface BidsFilter {
  /** Participant labels, with or without `sub-`. */
  participants?: string[];
  /** Session labels, with or without `ses-`. */
  sessions?: string[];
  /** Anatomical suffixes. @default ["T1w"] */
  suffixes?: string[];
  /** Skip the checks of `dataset_description.json` (`--skip_bids_validator`). */
  skipValidation?: boolean;
}

async function dirs(path: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) if (e.isDirectory && e.name.startsWith(prefix)) out.push(e.name);
  } catch { /* none */ }
  return out.sort();
}

/** Options of {@linkcode readDatasetDescription}. */
export interface DatasetDescriptionOptions {
  /** Return `{}` instead of failing when the description is missing or invalid. */
  skipValidation?: boolean;
}

/**
 * Reads a raw dataset's `dataset_description.json` and checks the basic
 * structure (a JSON object with the REQUIRED `Name` and `BIDSVersion`).
 * Throws a SiamizeError: exit 66 when the folder is missing, 16 when it is
 * not a valid BIDS dataset (unless `skipValidation`, which returns what
 * could be read, or `{}`). This is not the official validator.
 */
export async function readDatasetDescription(
  root: string,
  o: DatasetDescriptionOptions = {},
): Promise<Record<string, unknown>> {
  try {
    if (!(await Deno.stat(root)).isDirectory) throw new Error("not a folder");
  } catch (e) {
    throw new SiamizeError(`${root}: not a BIDS dataset folder (${errorText(e)})`, EXIT_NOINPUT);
  }
  const path = join(root, "dataset_description.json");
  const invalid = (why: string): Record<string, unknown> => {
    if (o.skipValidation) return {};
    throw new SiamizeError(`${root}: not a BIDS dataset (${why})`, EXIT_INVALID_DATASET);
  };
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return invalid("no dataset_description.json");
  }
  let d: unknown;
  try {
    d = parseJsonBounded(text);
  } catch {
    return invalid("dataset_description.json is not JSON");
  }
  if (typeof d !== "object" || d === null || Array.isArray(d)) {
    return invalid("dataset_description.json is not an object");
  }
  const desc = d as Record<string, unknown>;
  for (const k of ["Name", "BIDSVersion"]) {
    if (typeof desc[k] !== "string") return o.skipValidation ? desc : invalid(`dataset_description.json has no "${k}"`);
  }
  return desc;
}

const LABEL = /^[a-zA-Z0-9]+$/;

/**
 * Finds `sub-<label>/[ses-<label>/]anat/<entities>_<suffix>.nii[.gz]` (the one
 * place that decides which files are sources, so that grouping a subject's
 * channels by suffix can be added here). Throws a SiamizeError: exit 66 when
 * the folder is missing or has no `sub-*` folders, 16 when it is not a BIDS
 * dataset (see {@linkcode readDatasetDescription}).
 */
export async function findBidsScans(root: string, f: BidsFilter = {}): Promise<BidsScan[]> {
  await readDatasetDescription(root, { skipValidation: f.skipValidation });
  const subjects = (await dirs(root, "sub-")).filter((s) => LABEL.test(s.slice(4)));
  if (!subjects.length) throw new SiamizeError(`${root}: no sub-<label> folders`, EXIT_NOINPUT);
  const want = (xs: string[] | undefined, prefix: string) => xs?.map((x) => (x.startsWith(prefix) ? x : prefix + x));
  const subs = want(f.participants, "sub-"), sess = want(f.sessions, "ses-");
  const suffixes = f.suffixes?.length ? f.suffixes : ["T1w"];
  const out: BidsScan[] = [];
  for (const sub of subjects) {
    if (subs && !subs.includes(sub)) continue;
    const sessions = (await dirs(join(root, sub), "ses-")).filter((s) => LABEL.test(s.slice(4)));
    const places: (string | undefined)[] = sessions.length ? sessions : [undefined];
    for (const ses of places) {
      if (sess && (!ses || !sess.includes(ses))) continue;
      const anat = ses ? join(root, sub, ses, "anat") : join(root, sub, "anat");
      const files: string[] = [];
      try {
        for await (const e of Deno.readDir(anat)) if (e.isFile || e.isSymlink) files.push(e.name);
      } catch { /* no anat folder */ }
      for (const name of files.sort()) {
        const m = name.match(/^(sub-[^_]+(?:_[a-zA-Z0-9]+-[a-zA-Z0-9]+)*)_([a-zA-Z0-9]+)\.nii(\.gz)?$/);
        if (!m || !suffixes.includes(m[2]) || !(m[1] === sub || m[1].startsWith(`${sub}_`))) continue;
        const path = join(anat, name);
        out.push({
          subject: sub.slice(4),
          session: ses?.slice(4),
          path,
          relative: relative(root, path).split("\\").join("/"),
          entities: m[1],
          suffix: m[2],
        });
      }
    }
  }
  return out;
}

/** Derivative paths of a scan. */
export interface BidsOutputs {
  dseg: string;
  dsegJson: string;
  probseg: string;
  probsegJson: string;
}

/**
 * `OUT/sub-X/[ses-Y/]anat/<entities>_seg-siam_desc-<suffix>_dseg.nii.gz` and
 * friends: `desc-<suffix>` keeps the outputs of a subject's T1w and T2w apart.
 * No `space-` entity: the outputs are on the source scan's grid, which the
 * sidecars' `SpatialReference` names.
 */
export function bidsOutputs(outDir: string, s: BidsScan): BidsOutputs {
  const dir = s.session
    ? join(outDir, `sub-${s.subject}`, `ses-${s.session}`, "anat")
    : join(outDir, `sub-${s.subject}`, "anat");
  const stem = join(dir, `${s.entities}_seg-${SEG_LABEL}_desc-${s.suffix}`);
  return {
    dseg: `${stem}_dseg.nii.gz`,
    dsegJson: `${stem}_dseg.json`,
    probseg: `${stem}_probseg.nii.gz`,
    probsegJson: `${stem}_probseg.json`,
  };
}

/**
 * Throws (exit 65, before any work) when two sources would write the same
 * output (for example `sub-01_T1w.nii` beside `sub-01_T1w.nii.gz`).
 */
export function checkOutputCollisions(outDir: string, scans: BidsScan[]): void {
  const seen = new Map<string, BidsScan>();
  for (const s of scans) {
    const o = bidsOutputs(outDir, s).dseg;
    const prior = seen.get(o);
    if (prior) {
      throw new SiamizeError(
        `${prior.relative} and ${s.relative} would both write ${relative(outDir, o)}: remove or rename one of them`,
        EXIT_DATAERR,
      );
    }
    seen.set(o, s);
  }
}

/**
 * How the derivative dataset links to the raw one (`DatasetLinks.raw`,
 * `SourceDatasets[].URL`): a relative path (`../..`) when the output sits
 * inside the raw dataset, else an escaped `file:` URL.
 */
export function rawDatasetLink(outDir: string, bidsDir: string): string {
  const out = resolve(outDir), raw = resolve(bidsDir);
  const inside = relative(raw, out);
  if (inside && !inside.startsWith("..") && !isAbsolute(inside)) {
    return relative(out, raw).split(/[\\/]/).map(encodeURIComponent).join("/");
  }
  return toFileUrl(raw).href;
}

/** What {@linkcode writeDerivativeMetadata} records. */
export interface DerivativeMetadataOptions {
  /** The raw dataset's folder. */
  bidsDir: string;
  /** Its `dataset_description.json` (License, Authors and DatasetDOI are carried over). */
  source: Record<string, unknown>;
  /** The model, for names and descriptions (`SIAM v0.3`). */
  model: string;
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + "\n");

/** The derivative's `dataset_description.json` object. */
export function derivativeDescription(outDir: string, o: DerivativeMetadataOptions): Record<string, unknown> {
  const link = rawDatasetLink(outDir, o.bidsDir);
  const source: Record<string, unknown> = { URL: link };
  if (typeof o.source.DatasetDOI === "string") source.DOI = o.source.DatasetDOI;
  const authors = o.source.Authors;
  return {
    Name: `siamize segmentations (${o.model})`,
    BIDSVersion: BIDS_VERSION,
    DatasetType: "derivative",
    ...(typeof o.source.License === "string" ? { License: o.source.License } : {}),
    ...(Array.isArray(authors) && authors.every((a) => typeof a === "string") ? { Authors: authors } : {}),
    GeneratedBy: [{
      Name: "siamize",
      Version: VERSION,
      Description: `Whole-head tissue segmentation with ${o.model} (ONNX Runtime)`,
      CodeURL: "https://jsr.io/@neurojson/siamize",
    }],
    SourceDatasets: [source],
    DatasetLinks: { raw: link },
  };
}

function readme(o: DerivativeMetadataOptions): string {
  return `# siamize segmentations (${o.model})

Generated by siamize ${VERSION} (https://jsr.io/@neurojson/siamize) from the BIDS dataset
linked as \`raw\` in dataset_description.json (DatasetLinks). BIDS ${BIDS_VERSION} derivatives.

For each source scan \`<entities>_<suffix>.nii[.gz]\` (for example sub-01_T1w.nii.gz):

- \`<entities>_seg-${SEG_LABEL}_desc-<suffix>_dseg.nii.gz\`: labels (uint8) on the source scan's grid; the labels are
  listed in dseg.tsv (index, name, abbreviation, color, mapping to the standard BIDS labels).
- \`<entities>_seg-${SEG_LABEL}_desc-<suffix>_probseg.nii.gz\` (with --tpm): one probability volume per label, in the
  order of the sidecar's LabelMap.
- JSON sidecars: Description, Sources and SpatialReference (the source scan, as a bids:raw: URI), ModelCard, and
  ModelFiles: the network files that ran, each with its SHA-256.

${GROUP_TABLE} (group level) holds per-label volumes in mL per source scan; it is not a BIDS file (.bidsignore).
License and Authors are those of the source dataset when it states them.
`;
}

async function ensureLine(path: string, line: string): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch { /* new */ }
  if (text.split(/\r?\n/).includes(line)) return;
  if (text && !text.endsWith("\n")) text += "\n";
  await writeFileAtomic(path, new TextEncoder().encode(text + line + "\n"));
}

/** `.bidsignore` names the group table (not a BIDS file). */
export function writeBidsIgnore(outDir: string): Promise<void> {
  return ensureLine(join(outDir, ".bidsignore"), GROUP_TABLE);
}

/**
 * Writes `dataset_description.json` (DatasetType derivative, GeneratedBy,
 * SourceDatasets, DatasetLinks), `dseg.tsv` and `.bidsignore`, and a
 * `README.md` when there is none.
 */
export async function writeDerivativeMetadata(
  outDir: string,
  table: ClassInfo[],
  o: DerivativeMetadataOptions,
): Promise<void> {
  if (resolve(outDir) === resolve(o.bidsDir)) {
    throw new SiamizeError(`${outDir}: the output folder is the BIDS dataset itself (use derivatives/siamize)`, 64);
  }
  await Deno.mkdir(outDir, { recursive: true });
  await writeFileAtomic(join(outDir, "dataset_description.json"), enc(derivativeDescription(outDir, o)));
  await writeFileAtomic(join(outDir, "dseg.tsv"), new TextEncoder().encode(labelTableTsv(table)));
  if (!await exists(join(outDir, "README.md"))) {
    await writeFileAtomic(join(outDir, "README.md"), new TextEncoder().encode(readme(o)));
  }
  await writeBidsIgnore(outDir);
}

/** How a segmentation was made, for the sidecars. */
export interface SidecarInfo {
  /** The model card, name and version (`SIAM v0.3`): the recipe around the networks. */
  model: string;
  /** The model files that ran (file name and SHA-256). */
  models: readonly { name: string; sha256: string }[];
  /** Execution provider. */
  provider: string;
}

function common(s: BidsScan, info: SidecarInfo): Record<string, unknown> {
  const uri = `bids:raw:${s.relative}`;
  return {
    Sources: [uri],
    SpatialReference: uri,
    Manual: false,
    ModelCard: info.model,
    ModelFiles: info.models.map((m) => ({ Name: m.name, SHA256: m.sha256 })),
    Provider: info.provider,
    GeneratedBy: [{ Name: "siamize", Version: VERSION }],
  };
}

/** The `_dseg.json` sidecar. */
export function dsegSidecar(s: BidsScan, info: SidecarInfo, table: ClassInfo[]): Record<string, unknown> {
  return {
    Description:
      `Discrete segmentation of ${s.relative} into ${table.length} labels (dseg.tsv) with the ${info.model} card, ` +
      `on the source scan's grid`,
    ...common(s, info),
  };
}

/** The `_probseg.json` sidecar: `LabelMap` names the label of each volume, in order. */
export function probsegSidecar(s: BidsScan, info: SidecarInfo, table: ClassInfo[]): Record<string, unknown> {
  return {
    Description: `Probabilities (softmax, summing to 1) of ${table.length} labels for ${s.relative} with the ` +
      `${info.model} card, one volume per label (LabelMap; abbreviations as in dseg.tsv), on the source scan's grid`,
    ...common(s, info),
    LabelMap: table.map((c) => c.abbreviation),
  };
}

/** Writes a JSON sidecar atomically. */
export function writeJson(path: string, v: unknown): Promise<void> {
  return writeFileAtomic(path, enc(v));
}
