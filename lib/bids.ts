/**
 * BIDS App support: find anatomical scans in a BIDS dataset, name BIDS
 * derivatives (`_seg-siam_dseg`, `_probseg`), and write the derivative
 * dataset's metadata (dataset_description.json, dseg.tsv).
 *
 * @module
 */
import { basename, join, relative } from "./_std.ts";
import { SiamizeError } from "./errors.ts";
import { errorText, writeFileAtomic } from "./fsutil.ts";
import type { ClassInfo } from "./model_card.ts";
import { VERSION } from "./report.ts";
import { labelTableTsv } from "./volumes.ts";

/** BIDS Apps exit code: the filters selected nothing. */
export const EXIT_NO_MATCH = 18;

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
}

async function dirs(path: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) if (e.isDirectory && e.name.startsWith(prefix)) out.push(e.name);
  } catch { /* none */ }
  return out.sort();
}

/**
 * Finds `sub-<label>/[ses-<label>/]anat/<entities>_<suffix>.nii[.gz]`. Throws a SiamizeError with
 * exit 66 when the folder is not a BIDS dataset.
 */
export async function findBidsScans(root: string, f: BidsFilter = {}): Promise<BidsScan[]> {
  try {
    if (!(await Deno.stat(root)).isDirectory) throw new Error("not a folder");
  } catch (e) {
    throw new SiamizeError(`${root}: not a BIDS dataset folder (${errorText(e)})`, 66);
  }
  try {
    await Deno.stat(join(root, "dataset_description.json"));
  } catch {
    throw new SiamizeError(`${root}: not a BIDS dataset (no dataset_description.json)`, 66);
  }
  const subjects = await dirs(root, "sub-");
  if (!subjects.length) throw new SiamizeError(`${root}: not a BIDS dataset (no sub-* folders)`, 66);
  const want = (xs: string[] | undefined, prefix: string) => xs?.map((x) => (x.startsWith(prefix) ? x : prefix + x));
  const subs = want(f.participants, "sub-"), sess = want(f.sessions, "ses-");
  const suffixes = f.suffixes?.length ? f.suffixes : ["T1w"];
  const out: BidsScan[] = [];
  for (const sub of subjects) {
    if (subs && !subs.includes(sub)) continue;
    const sessions = await dirs(join(root, sub), "ses-");
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
        if (!m || !suffixes.includes(m[2])) continue;
        const path = join(anat, name);
        out.push({
          subject: sub.slice(4),
          session: ses?.slice(4),
          path,
          relative: relative(root, path),
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

/** `OUT/sub-X/[ses-Y/]anat/<entities>_seg-siam_dseg.nii.gz` and friends. */
export function bidsOutputs(outDir: string, s: BidsScan): BidsOutputs {
  const dir = s.session
    ? join(outDir, `sub-${s.subject}`, `ses-${s.session}`, "anat")
    : join(outDir, `sub-${s.subject}`, "anat");
  const stem = join(dir, `${s.entities}_seg-siam`);
  return {
    dseg: `${stem}_dseg.nii.gz`,
    dsegJson: `${stem}_dseg.json`,
    probseg: `${stem}_probseg.nii.gz`,
    probsegJson: `${stem}_probseg.json`,
  };
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + "\n");

/** Writes `dataset_description.json` (DatasetType derivative, GeneratedBy) and `dseg.tsv`. */
export async function writeDerivativeMetadata(
  outDir: string,
  table: ClassInfo[],
  sourceDataset: string,
): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  await writeFileAtomic(
    join(outDir, "dataset_description.json"),
    enc({
      Name: "siamize segmentations (SIAM v0.3)",
      BIDSVersion: "1.10.0",
      DatasetType: "derivative",
      GeneratedBy: [{ Name: "siamize", Version: VERSION, CodeURL: "https://jsr.io/@neurojson/siamize" }],
      SourceDatasets: [{ URL: `file://${sourceDataset}` }],
    }),
  );
  await writeFileAtomic(join(outDir, "dseg.tsv"), new TextEncoder().encode(labelTableTsv(table)));
}

/** The `_dseg.json` sidecar. */
export function dsegSidecar(s: BidsScan, models: string[], provider: string): Record<string, unknown> {
  return {
    Sources: [`bids:raw:${s.relative}`],
    Manual: false,
    SegmentationModel: "SIAM v0.3",
    Folds: models.map((m) => basename(m)),
    Provider: provider,
    GeneratedBy: [{ Name: "siamize", Version: VERSION }],
  };
}

/** The `_probseg.json` sidecar: the label of each volume. */
export function probsegSidecar(s: BidsScan, table: ClassInfo[]): Record<string, unknown> {
  return {
    Sources: [`bids:raw:${s.relative}`],
    LabelMap: Object.fromEntries(table.map((c) => [String(c.index), c.abbreviation])),
  };
}

/** Writes a JSON sidecar atomically. */
export function writeJson(path: string, v: unknown): Promise<void> {
  return writeFileAtomic(path, enc(v));
}
