/**
 * Command-line parsing for the `siamize` CLI: the C++ siamize's flags plus
 * our own, validated into typed {@linkcode CliOptions}. Pure: no I/O.
 *
 * @module
 */
import { parseArgs } from "./_std.ts";
import { UsageError } from "./errors.ts";

/** Execution providers selectable with `-c`. */
export const COMPUTE_CHOICES: readonly Compute[] = ["auto", "cpu", "cuda", "tensorrt", "coreml", "webgpu"];
/** An execution provider choice. */
export type Compute = "auto" | "cpu" | "cuda" | "tensorrt" | "coreml" | "webgpu";
/** Output formats selectable with `-F`. */
export const FORMAT_CHOICES = ["nii", "jnii", "bnii"] as const;
/** An output format. */
export type Format = typeof FORMAT_CHOICES[number];

/** Everything the command line can say, validated. */
export interface CliOptions {
  /** `-i`: input scan. */
  input?: string;
  /** `-o`: output label file. */
  output?: string;
  /** `-M`: model list as given (digits, `all`, names, paths; comma-separated). */
  models: string[];
  /** `-c`: execution provider. */
  compute: Compute;
  /** `-G`: GPU device id. */
  gpu: number;
  /** `-t`: intra-op threads (undefined: automatic). */
  threads?: number;
  /** `-P`: patch size (z, y, x), undefined: the model card's default. */
  patch?: [number, number, number];
  /** `-u`: target spacing in mm, undefined: the model card's. */
  spacing?: number;
  /** `-C`: `18` (all SIAM classes) or `spm` (6 SPM12 tissue classes). */
  classes: "18" | "spm";
  /** `--tpm`: also write probability maps. */
  tpm: boolean;
  /** `--tpm-t`: softmax temperature for the probability maps. */
  tpmT: number;
  /** `--upsample`: keep the resampled (target-spacing) canonical grid. */
  upsample: boolean;
  /** `-F`: output format, undefined: from the output's extension. */
  format?: Format;
  /** `--shuffle`: byte-shuffle JNIfTI payloads. */
  shuffle: boolean;
  /** `--bnii-endian`: byte order of .bnii numbers (little = BJData Draft 2; big = Draft 1 readers). */
  bniiEndian: "little" | "big";
  /** `--lowmem`: smaller patch, no memory arena. */
  lowmem: boolean;
  /** `--no-arena`: disable ORT's CPU memory arena. */
  noArena: boolean;
  /** `--no-sidecar`: no `<stem>.labels.tsv` beside NIfTI outputs. */
  noSidecar: boolean;
  /** `--vol`: append tissue volumes to this table. */
  vol?: string;
  /** `--qc`: write a QC montage PNG. */
  qc?: string;
  /** `--shard i/n`: take every n-th input of a batch, starting at the i-th. */
  shard?: string;
  /** `--card`: model card JSON (default: SIAM v0.3). */
  card?: string;
  /** `--overwrite`: replace existing outputs. */
  overwrite: boolean;
  /** `--report`: write a JSON run record here. */
  report?: string;
  /** `-v`. */
  verbose: boolean;
  /** `-q`. */
  quiet: boolean;
  /** `-h`. */
  help: boolean;
  /** `-V`. */
  version: boolean;
}

const SPEC = {
  input: { type: "string", short: "i" },
  output: { type: "string", short: "o" },
  model: { type: "string", short: "M", multiple: true },
  compute: { type: "string", short: "c" },
  gpu: { type: "string", short: "G" },
  threads: { type: "string", short: "t" },
  patch: { type: "string", short: "P" },
  spacing: { type: "string", short: "u" },
  classes: { type: "string", short: "C" },
  tpm: { type: "string" },
  "tpm-t": { type: "string" },
  upsample: { type: "boolean" },
  format: { type: "string", short: "F" },
  shuffle: { type: "boolean" },
  "bnii-endian": { type: "string" },
  lowmem: { type: "boolean" },
  "no-arena": { type: "boolean" },
  overwrite: { type: "boolean" },
  card: { type: "string" },
  shard: { type: "string" },
  "no-sidecar": { type: "boolean" },
  vol: { type: "string" },
  qc: { type: "string" },
  report: { type: "string" },
  verbose: { type: "boolean", short: "v" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

/** Usage text for `--help`. */
export const HELP = `siamize — segment a head MRI into 18 tissues with SIAM v0.3 (ONNX Runtime)

Usage: siamize -i T1.nii.gz -o labels.nii.gz [options]
       siamize -i FOLDER|@list.txt -o OUT_FOLDER [--shard i/n] [options]
       siamize bids BIDS_DIR OUT_DIR participant|group [--participant-label L …]
               [--session-label S …] [--bids-suffix T1w,T2w] [options]

  -i, --input FILE       input scan (.nii, .nii.gz, .jnii, .bnii)
  -o, --output FILE      output label image (.nii, .nii.gz, .jnii, .bnii)
  -M, --model LIST       models, comma-separated: fold digits 0-4, "all",
                         file names in the cache, or paths to .onnx (default 0)
  -c, --compute NAME     auto|cpu|cuda|tensorrt|coreml|webgpu (default auto)
  -G, --gpu N            GPU device id (default 0)
  -t, --threads N        CPU threads (default: min(cores, 16))
  -P, --patch ZxYxX      sliding-window patch (default from the model card,
                         256x256x192 for SIAM v0.3)
  -u, --spacing MM       isotropic working spacing (default 0.75)
  -C, --classes 18|spm   18 SIAM labels, or the 6 SPM12 tissue classes
      --tpm [0|1]        also write probability maps (<stem>_tpm.<ext>, X*Y*Z*classes)
      --tpm-t T          softmax temperature for --tpm (default 1)
      --upsample         keep the 0.75 mm canonical grid instead of the input's
  -F, --format FMT       nii|jnii|bnii (default: from the output's extension)
      --shuffle          byte-shuffle JNIfTI payloads
      --bnii-endian E    little (BJData Draft 2, default) or big (Draft 1
                         readers such as Debian 12's python3-bjdata)
      --lowmem           patch 192x192x128 (the CPU memory arena is already off)
      --no-arena         no ONNX Runtime CPU memory arena (already the default)
      --no-sidecar       no <stem>.labels.tsv label table beside NIfTI outputs
      --vol FILE         append tissue volumes (mL) and TIV to FILE (.csv, .tsv, .json)
      --qc FILE.png      write a QC montage (9 slices, label overlay, legend)
      --card FILE        model card JSON (default: SIAM v0.3, models/siam-v0.3.json)
      --shard i/n        batch: take inputs i, i+n, i+2n, … (also from
                         SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT)
      --overwrite        replace an existing output (default: refuse)
      --report FILE      write a JSON record of the run (timings, provider, …)
  -v, --verbose          say what happens, with per-stage times
  -q, --quiet            errors only
  -h, --help             this text
  -V, --version          print the version

Exit codes: 0 ok, 64 usage, 65 bad input data, 66 missing input, 73 cannot
write, 18 BIDS filters selected nothing, 130/143 interrupted, 1 failure
(a batch: any input failed).`;

function bad(msg: string): never {
  throw new UsageError(`${msg} (see --help)`);
}

function positiveInt(flag: string, s: string): number {
  if (!/^\d+$/.test(s) || Number(s) <= 0) bad(`${flag} needs a positive integer, got "${s}"`);
  return Number(s);
}

function nonNegativeInt(flag: string, s: string): number {
  if (!/^\d+$/.test(s)) bad(`${flag} needs a non-negative integer, got "${s}"`);
  return Number(s);
}

function positiveNumber(flag: string, s: string): number {
  const v = Number(s);
  if (s.trim() === "" || !Number.isFinite(v) || v <= 0) bad(`${flag} needs a positive number, got "${s}"`);
  return v;
}

/** Parses `"256x256x192"` (or `,` separated) into (z, y, x). */
export function parsePatch(s: string): [number, number, number] {
  const parts = s.split(/[x,]/i);
  if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p) || Number(p) <= 0)) {
    bad(`-P needs three positive integers ZxYxX, got "${s}"`);
  }
  return parts.map(Number) as [number, number, number];
}

/**
 * `--tpm` takes an optional 0/1 (as the C++ siamize): rewrite it into
 * `--tpm=V` so the strict parser sees a value.
 */
function normaliseOptionalValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (a === "--tpm") {
      const next = argv[i + 1];
      if (next === "0" || next === "1") {
        out.push(`--tpm=${next}`);
        i++;
      } else out.push("--tpm=1");
    } else out.push(a);
  }
  return out;
}

/**
 * Parses and validates argv (without the program name). Throws
 * {@linkcode UsageError}. `requireIO: false` (the BIDS mode) drops the
 * -i/-o requirement.
 */
export function parseCli(argv: string[], { requireIO = true }: { requireIO?: boolean } = {}): CliOptions {
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: normaliseOptionalValues(argv),
      options: SPEC,
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    const err = e as { code?: string; message: string };
    const msg = err.message.split("\n")[0];
    const unknown = msg.match(/Unknown option '([^']+)'/);
    if (unknown) bad(`unknown option ${unknown[1]}`);
    const missing = msg.match(/Option '([^']+)' argument missing/);
    if (missing) bad(`option ${missing[1].replace(/ <value>$/, "").replace(/, /, "/")} needs a value`);
    const ambiguous = msg.match(/Option '([^']+)' argument is ambiguous/);
    if (ambiguous) {
      const flag = ambiguous[1];
      const long = flag.startsWith("--")
        ? flag
        : `--${Object.entries(SPEC).find(([, v]) => "short" in v && `-${v.short}` === flag)?.[0] ?? flag.slice(1)}`;
      bad(`option ${flag} is followed by a value starting with "-"; write it as ${long}=VALUE`);
    }
    bad(msg.replace(/\. To specify.*$/, ""));
  }
  if (positionals.length) bad(`unexpected argument "${positionals[0]}"`);
  const s = (k: keyof typeof SPEC) => values[k] as string | undefined;
  const b = (k: keyof typeof SPEC) => values[k] === true;

  const compute = (s("compute") ?? "auto").toLowerCase();
  if (!(COMPUTE_CHOICES as readonly string[]).includes(compute)) {
    bad(`-c must be one of ${COMPUTE_CHOICES.join("|")}, got "${compute}"`);
  }
  const classes = (s("classes") ?? "18").toLowerCase();
  if (classes !== "18" && classes !== "spm") bad(`-C must be 18 or spm, got "${classes}"`);
  const format = s("format")?.toLowerCase();
  if (format !== undefined && !(FORMAT_CHOICES as readonly string[]).includes(format)) {
    bad(`-F must be one of ${FORMAT_CHOICES.join("|")}, got "${format}"`);
  }
  const bniiEndian = (s("bnii-endian") ?? "little").toLowerCase();
  if (bniiEndian !== "little" && bniiEndian !== "big") bad(`--bnii-endian must be little or big, got "${bniiEndian}"`);
  const tpm = s("tpm");
  if (tpm !== undefined && tpm !== "0" && tpm !== "1") bad(`--tpm takes 0 or 1, got "${tpm}"`);
  const models = ((values.model as string[] | undefined) ?? [])
    .flatMap((m) => m.split(","))
    .map((m) => m.trim())
    .filter((m) => m !== "");
  const opts: CliOptions = {
    input: s("input"),
    output: s("output"),
    models: models.length ? models : ["0"],
    compute: compute as Compute,
    gpu: s("gpu") !== undefined ? nonNegativeInt("-G", s("gpu")!) : 0,
    threads: s("threads") !== undefined ? positiveInt("-t", s("threads")!) : undefined,
    patch: s("patch") !== undefined ? parsePatch(s("patch")!) : undefined,
    spacing: s("spacing") !== undefined ? positiveNumber("-u", s("spacing")!) : undefined,
    classes: classes as "18" | "spm",
    tpm: tpm === "1",
    tpmT: s("tpm-t") !== undefined ? positiveNumber("--tpm-t", s("tpm-t")!) : 1,
    upsample: b("upsample"),
    format: format as Format | undefined,
    shuffle: b("shuffle"),
    bniiEndian: bniiEndian as "little" | "big",
    lowmem: b("lowmem"),
    noArena: b("no-arena"),
    overwrite: b("overwrite"),
    card: s("card"),
    shard: s("shard"),
    noSidecar: b("no-sidecar"),
    vol: s("vol"),
    qc: s("qc"),
    report: s("report"),
    verbose: b("verbose"),
    quiet: b("quiet"),
    help: b("help"),
    version: b("version"),
  };
  if (opts.verbose && opts.quiet) bad("-v and -q cannot be combined");
  if (!opts.help && !opts.version && requireIO) {
    if (!opts.input) bad("missing -i INPUT");
    if (!opts.output) bad("missing -o OUTPUT");
  }
  return opts;
}
