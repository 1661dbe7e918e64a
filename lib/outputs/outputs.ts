/**
 * Writing what a run produced: the label image (NIfTI or JNIfTI), the
 * probability maps, the label table sidecar, the volumes table and the QC
 * picture — all or nothing (staged under temp names, renamed together).
 *
 * @module
 */
import { basename } from "../core/_std.ts";
import type { Format, Volume } from "../core/types.ts";
import { OutputSet } from "../core/staged.ts";
import { UsageError } from "../core/errors.ts";
import { encodeVolume, formatOf } from "../io/read.ts";
import type { ClassInfo, ModelCard } from "../cards/card.ts";
import { qcPicture } from "./qc.ts";
import { labelTableTsv, tissueVolumes, volumesTableBytes } from "./volumes.ts";

/**
 * What {@linkcode writeOutputs} reads of a run's result: a narrow view of
 * run/segment.ts's `SegmentResult` (which satisfies it), so outputs need not
 * import run.
 */
export interface SegmentOutput {
  /** Labels (uint8). */
  labels: Volume;
  /** Probabilities (X, Y, Z, classes) float32, when computed. */
  probabilities?: Volume;
  /** The input scan as read (for the QC picture). */
  input: Volume;
  /** The label table. */
  labelTable: ClassInfo[];
  /** The model files that ran (name, SHA-256), recorded in JNIfTI headers. */
  modelFiles?: readonly { name: string; sha256: string }[];
}

/**
 * The format an output path asks for: `-F`, or the extension; any other
 * extension than `.jnii`/`.bnii` means NIfTI (gzipped for `.gz`), as in the
 * C++ siamize. A usage error when `-F` and a known extension disagree.
 */
export function outputKind(path: string, format?: Format): Format {
  const byName = formatOf(path);
  if (format && byName && format !== byName) {
    throw new UsageError(
      `-F ${format} does not match the output ${path} (a .${byName === "nii" ? "nii/.nii.gz" : byName} name)`,
    );
  }
  return format ?? byName ?? "nii";
}

/** Splits `a/b.nii.gz` into `a/b` and `.nii.gz`. */
function splitExt(path: string): [string, string] {
  const m = path.match(/^(.*?)(\.nii\.gz|\.nii|\.jnii|\.bnii|\.[^./\\]*)?$/i)!;
  return [m[1], m[2] ?? ""];
}

/** The probability-map path beside an output: `labels.nii.gz` → `labels_tpm.nii.gz`. */
export function tpmPath(output: string): string {
  const [stem, ext] = splitExt(output);
  return `${stem}_tpm${ext}`;
}

/** The label-table sidecar beside a NIfTI output: `labels.nii.gz` → `labels.labels.tsv`. */
export function sidecarPath(output: string): string {
  return `${splitExt(output)[0]}.labels.tsv`;
}

/** Options for {@linkcode writeOutputs}. */
export interface OutputOptions {
  /**
   * The output path gets the 4-D probability map instead of the labels
   * (the C++ siamize's `--tpm`). @default false
   */
  tpmOnly?: boolean;
  /** Also write the probability map here (labels stay at the output path). */
  tpmOut?: string;
  /** Output format (default: by extension). */
  format?: Format;
  /** Byte-shuffle JNIfTI probability payloads. */
  shuffle?: boolean;
  /** Byte order of `.bnii` numbers. @default "little" */
  endian?: "little" | "big";
  /** Write `<stem>.labels.tsv` beside NIfTI outputs. @default true */
  sidecar?: boolean;
  /** Append per-class volumes to this table (.csv, .tsv, .json). */
  vol?: string;
  /** Write a QC montage PNG here. */
  qc?: string;
  /** Name of the input for tables and pictures. */
  inputName?: string;
  /** The model card (intracranial classes). */
  card: ModelCard;
}

/** Files an output request would create, for checks before a run. */
export function plannedOutputs(
  path: string,
  o: { tpmOut?: string; sidecar?: boolean; format?: Format; qc?: string },
): string[] {
  const kind = outputKind(path, o.format);
  const out = [path];
  if (o.tpmOut) out.push(o.tpmOut);
  if (kind === "nii" && o.sidecar !== false) out.push(sidecarPath(path));
  if (o.qc) out.push(o.qc);
  return out;
}

/**
 * Writes every requested output under temp names (see
 * {@linkcode OutputSet}) and adds them to `set`, without committing: the
 * caller adds what else belongs to the run (a report) and commits once.
 */
export async function stageOutputs(set: OutputSet, path: string, r: SegmentOutput, o: OutputOptions): Promise<void> {
  const kind = outputKind(path, o.format);
  const spm = r.labelTable.length !== o.card.classes.length;
  if ((o.tpmOnly || o.tpmOut) && !r.probabilities) throw new Error("probability maps were not computed (tpm: true)");
  if (!o.tpmOnly) {
    await set.add(
      path,
      await encodeVolume(path, r.labels, {
        format: kind,
        datatype: "uint8",
        intentCode: 1002,
        intentName: spm ? "spm classes" : "siam labels",
        cal: [0, r.labelTable.length - 1],
        descrip: `siamize ${spm ? "SPM classes" : "labels"}`,
        labels: r.labelTable,
        models: r.modelFiles,
        endian: o.endian,
      }),
    );
  }
  const mapPath = o.tpmOnly ? path : o.tpmOut;
  if (r.probabilities && mapPath) {
    const p = mapPath;
    await set.add(
      p,
      await encodeVolume(p, r.probabilities, {
        format: o.tpmOnly ? kind : outputKind(p, formatOf(p) ? undefined : kind),
        datatype: "float32",
        intentName: "probabilities",
        cal: [0, 1],
        descrip: "siamize probabilities",
        labels: r.labelTable,
        models: r.modelFiles,
        shuffle: o.shuffle,
        endian: o.endian,
      }),
    );
  }
  if (kind === "nii" && o.sidecar !== false) {
    await set.add(sidecarPath(path), new TextEncoder().encode(labelTableTsv(r.labelTable)));
  }
  if (o.qc) {
    const title = o.inputName ? basename(o.inputName) : undefined;
    await set.add(o.qc, await qcPicture(r.input, r.labels, r.labelTable, { title }));
  }
  if (o.vol) {
    const intracranial = spm ? o.card.merges?.spm?.intracranial ?? [] : o.card.intracranial;
    const row = tissueVolumes(r.labels, r.labelTable, intracranial, o.inputName ?? "");
    await set.add(o.vol, await volumesTableBytes(o.vol, [row]), { replace: true });
  }
}

/**
 * Writes every requested output, all or nothing: each is staged under a
 * temp name and all are renamed into place together; an output that
 * appeared meanwhile is not replaced unless `overwrite` (exit 73, nothing
 * left). Returns the paths written.
 */
export async function writeOutputs(
  path: string,
  r: SegmentOutput,
  o: OutputOptions & { overwrite?: boolean },
): Promise<string[]> {
  const set = new OutputSet({ overwrite: o.overwrite ?? true });
  try {
    await stageOutputs(set, path, r, o);
    return await set.commit();
  } finally {
    await set.discard();
  }
}
