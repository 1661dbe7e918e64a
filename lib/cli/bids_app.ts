/**
 * The BIDS App command line and its jobs: `siamize bids BIDS_DIR OUT_DIR
 * participant|group [options]` with options before or after the positionals,
 * label lists or label files, `--skip_bids_validator`; the participant jobs
 * (every requested output named, written explicitly as `_dseg` and
 * `_probseg`), and the group table.
 *
 * @module
 */
import { dirname, join } from "../core/_std.ts";
import { optionTakesValue } from "./args.ts";
import type { BatchJob } from "../run/batch.ts";
import { isValidOutput } from "../run/batch.ts";
import {
  type BidsOutputs,
  bidsOutputs,
  type BidsScan,
  dsegSidecar,
  EXIT_UNKNOWN_LEVEL,
  GROUP_TABLE,
  probsegSidecar,
  type SidecarInfo,
  writeBidsIgnore,
} from "../bids/bids.ts";
import { EXIT_NOINPUT, shownValue, SiamizeError, UsageError } from "../core/errors.ts";
import { errorText, exists } from "../core/fsutil.ts";
import { encodeVolume, readVolume } from "../io/read.ts";
import { OutputSet } from "../core/staged.ts";
import type { ModelCard } from "../cards/card.ts";
import type { SegmentResult } from "../run/segment.ts";
import { appendVolumes, tissueVolumes, type VolumeRow } from "../outputs/volumes.ts";

/** Analysis levels this app supports. */
export const ANALYSIS_LEVELS = ["participant", "group"] as const;

/** The BIDS-specific part of a `bids` command line, split from the general options. */
export interface BidsArgs {
  /** The positionals, in order (BIDS_DIR OUT_DIR LEVEL when complete). */
  positionals: string[];
  /** `--participant-label` / `--participant_label` values (labels or label files), as given. */
  participants: string[];
  /** `--session-label` / `--session_label` values, as given. */
  sessions: string[];
  /** `--bids-suffix` (default `["T1w"]`). */
  suffixes: string[];
  /** `--skip_bids_validator` / `--skip-bids-validator`. */
  skipValidator: boolean;
  /** Everything else, for the general option parser. */
  rest: string[];
}

const LABEL_FLAGS: Record<string, "participants" | "sessions"> = {
  "--participant-label": "participants",
  "--participant_label": "participants",
  "--session-label": "sessions",
  "--session_label": "sessions",
};
const SKIP_FLAGS = ["--skip_bids_validator", "--skip-bids-validator"];

/**
 * Splits a `bids` command line. Options may come before, between or after
 * the three positionals. A label flag takes the bare words after it (like
 * argparse's `nargs="+"`), but gives back its last words when the
 * positionals would otherwise be short: `--participant-label 01 02 ds out
 * participant` works. Values of general options (`-M x`) are kept with them.
 */
export function splitBidsArgs(argv: string[]): BidsArgs {
  const a: BidsArgs = {
    positionals: [],
    participants: [],
    sessions: [],
    suffixes: ["T1w"],
    skipValidator: false,
    rest: [],
  };
  // Bare words with their index; label groups remember which words they took.
  const positional: { i: number; v: string }[] = [];
  const groups: { key: "participants" | "sessions"; flag: string; words: { i: number; v: string }[] }[] = [];
  let group: (typeof groups)[number] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === "--") {
      group = undefined;
      positional.push(...argv.slice(i + 1).map((v, k) => ({ i: i + 1 + k, v })));
      break;
    }
    if (!t.startsWith("-") || t === "-") {
      if (group) group.words.push({ i, v: t });
      else positional.push({ i, v: t });
      continue;
    }
    group = undefined;
    const name = t.split("=")[0];
    if (name in LABEL_FLAGS) {
      const g = { key: LABEL_FLAGS[name], flag: name, words: [] as { i: number; v: string }[] };
      groups.push(g);
      // `--participant-label=01,02` holds its values; bare words after it are positionals.
      if (t.includes("=")) {
        g.words.push(...t.slice(t.indexOf("=") + 1).split(",").filter(Boolean).map((v) => ({ i, v })));
      } else group = g;
    } else if (name === "--bids-suffix") {
      const v = t.includes("=") ? t.slice(t.indexOf("=") + 1) : argv[++i];
      if (!v || v.startsWith("-")) throw new UsageError("--bids-suffix needs a value such as T1w,T2w (see --help)");
      a.suffixes = v.split(",").map((x) => x.trim()).filter(Boolean);
    } else if (SKIP_FLAGS.includes(t)) {
      a.skipValidator = true;
    } else {
      a.rest.push(t);
      if (optionTakesValue(t, argv[i + 1]) && i + 1 < argv.length) a.rest.push(argv[++i]);
    }
  }
  // Give back words from the last label groups while positionals are short.
  for (let g = groups.length - 1; g >= 0 && positional.length < 3; g--) {
    const words = groups[g].words;
    while (positional.length < 3 && words.length > 1 && words[words.length - 1].i !== words[words.length - 2].i) {
      positional.push(words.pop()!);
    }
  }
  for (const g of groups) {
    if (!g.words.length) throw new UsageError(`${g.flag} needs at least one label (see --help)`);
    a[g.key].push(...g.words.map((w) => w.v));
  }
  a.positionals = positional.sort((x, y) => x.i - y.i).map((p) => p.v);
  return a;
}

const LABEL_VALUE = /^(sub-|ses-)?[a-zA-Z0-9]+$/;

/** The largest label list file read (1 MiB): anything larger is not one. */
const MAX_LABEL_FILE = 2 ** 20;

/**
 * Labels from `--participant-label` values: a value that is not a label
 * (`01`, `sub-01`) is a file with one label a line (blank lines and `#`
 * comments skipped), as the BIDS Apps execution spec allows.
 */
export async function expandLabels(values: string[], flag: string): Promise<string[]> {
  const out: string[] = [];
  for (const v of values) {
    if (LABEL_VALUE.test(v)) {
      out.push(v);
      continue;
    }
    let text: string;
    try {
      const st = await Deno.stat(v);
      if (!st.isFile) throw new Error("not a regular file");
      if (st.size > MAX_LABEL_FILE) throw new Error(`${st.size} bytes, more than a label list holds`);
      text = await Deno.readTextFile(v);
    } catch (e) {
      throw new SiamizeError(
        `${/^[\x20-\x7e]{1,200}$/.test(v) ? v : shownValue(v)}: not a label, and cannot read it as a ${flag} file (${
          errorText(e)
        })`,
        EXIT_NOINPUT,
      );
    }
    const lines: string[] = [];
    for (const [k, raw] of text.split(/\r?\n/).entries()) {
      const l = raw.trim();
      if (!l || l.startsWith("#")) continue;
      // The value is shown only when short and printable: the file may be a secret given by mistake.
      if (!LABEL_VALUE.test(l)) {
        throw new UsageError(`${v}: line ${k + 1}: ${shownValue(l)} is not a label (letters and digits only)`);
      }
      lines.push(l);
    }
    if (!lines.length) throw new UsageError(`${v}: the ${flag} file lists no labels`);
    out.push(...lines);
  }
  return out;
}

/** The three positionals, checked: exit 64 when missing, 17 for an unknown analysis level. */
export function checkPositionals(positionals: string[]): [string, string, "participant" | "group"] {
  if (positionals.length !== 3) {
    throw new UsageError(
      positionals.length > 3
        ? `bids takes BIDS_DIR OUT_DIR participant|group, got also "${positionals[3]}" (see --help)`
        : "bids needs BIDS_DIR OUT_DIR participant|group (see --help)",
    );
  }
  const [bidsDir, outDir, level] = positionals;
  if (!(ANALYSIS_LEVELS as readonly string[]).includes(level)) {
    throw new SiamizeError(`unknown analysis level "${level}" (use participant or group)`, EXIT_UNKNOWN_LEVEL);
  }
  return [bidsDir, outDir, level as "participant" | "group"];
}

/** One participant-level job: a source scan and every output asked for. */
export interface BidsJob extends BatchJob {
  scan: BidsScan;
  paths: BidsOutputs;
  /** Whether `_probseg` (and its sidecar) is asked for. */
  probseg: boolean;
}

/** The jobs of a participant run: `outputs` lists every requested file, so a `--tpm` rerun is not "done". */
export function bidsJobs(outDir: string, scans: BidsScan[], probseg: boolean): BidsJob[] {
  return scans.map((scan) => {
    const paths = bidsOutputs(outDir, scan);
    const outputs = [paths.dseg, paths.dsegJson, ...(probseg ? [paths.probseg, paths.probsegJson] : [])];
    return { input: scan.path, output: paths.dseg, outputs, scan, paths, probseg };
  });
}

/** Options of {@linkcode writeBidsResult}. */
export interface WriteBidsOptions {
  /** Replace valid outputs (else only missing or invalid ones are written). */
  overwrite?: boolean;
  /** For the sidecars. */
  model: string;
}

/**
 * Writes a job's outputs from a segmentation, explicitly: the labels as
 * `_dseg.nii.gz` (uint8, intent label) and, when asked, the probabilities as
 * `_probseg.nii.gz` (float32), each with its sidecar. Outputs that are
 * already valid are kept unless `overwrite`. Returns the paths written.
 */
export async function writeBidsResult(job: BidsJob, r: SegmentResult, o: WriteBidsOptions): Promise<string[]> {
  const p = job.paths;
  const info: SidecarInfo = { model: o.model, models: r.modelFiles, provider: r.provider };
  await Deno.mkdir(dirname(p.dseg), { recursive: true });
  const todo = async (path: string) => o.overwrite || !await isValidOutput(path);
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + "\n");
  // A subject's files appear together or not at all (lib/core/staged.ts); what is replaced is invalid or --overwrite.
  const set = new OutputSet({ overwrite: true });
  try {
    if (await todo(p.dseg)) {
      await set.add(
        p.dseg,
        await encodeVolume(p.dseg, r.labels, { datatype: "uint8", intentCode: 1002, descrip: "siamize dseg" }),
      );
    }
    if (await todo(p.dsegJson)) await set.add(p.dsegJson, json(dsegSidecar(job.scan, info, r.labelTable)));
    if (job.probseg) {
      if (!r.probabilities) throw new Error(`${job.input}: the segmenter returned no probabilities for _probseg`);
      if (await todo(p.probseg)) {
        await set.add(
          p.probseg,
          await encodeVolume(p.probseg, r.probabilities, { datatype: "float32", descrip: "siamize probseg" }),
        );
      }
      if (await todo(p.probsegJson)) await set.add(p.probsegJson, json(probsegSidecar(job.scan, info, r.labelTable)));
    }
    return await set.commit();
  } finally {
    await set.discard();
  }
}

/** Options of {@linkcode bidsGroup}. */
export interface BidsGroupOptions {
  /** The model card (classes, intracranial classes). */
  card: ModelCard;
  /** SPM 6-class labels instead of the card's classes. */
  spm?: boolean;
}

/**
 * The group level: one row of volumes (mL) per source scan, from the
 * participant outputs, in `OUT/group_volumes.tsv` (replaced). A missing or
 * unreadable participant output is one error line (exit 66) naming it.
 * Returns the table's path and row count.
 */
export async function bidsGroup(
  outDir: string,
  scans: BidsScan[],
  o: BidsGroupOptions,
): Promise<{ table: string; rows: number }> {
  const merge = o.spm ? o.card.merges?.spm : undefined;
  const classes = merge ? merge.classes : o.card.classes;
  const intracranial = merge ? merge.intracranial : o.card.intracranial;
  const rows: VolumeRow[] = [];
  for (const s of scans) {
    const dseg = bidsOutputs(outDir, s).dseg;
    if (!await exists(dseg)) {
      throw new SiamizeError(`${dseg}: missing (run the participant level first)`, EXIT_NOINPUT);
    }
    let labels;
    try {
      labels = await readVolume(dseg);
    } catch (e) {
      const why = errorText(e).replace(`${dseg}: `, "");
      throw new SiamizeError(`${dseg}: ${why} (run the participant level again)`, EXIT_NOINPUT);
    }
    rows.push(tissueVolumes(labels, classes, intracranial, `${s.entities}_${s.suffix}`));
  }
  const table = join(outDir, GROUP_TABLE);
  try {
    await Deno.remove(table);
  } catch { /* new */ }
  await appendVolumes(table, rows);
  await writeBidsIgnore(outDir);
  return { table, rows: rows.length };
}
