/**
 * Command-line parsing for the `siamize` CLI: the C++ siamize's flags plus
 * our own, validated into typed {@linkcode CliOptions}. Pure: no I/O.
 *
 * @module
 */
import { parseArgs } from "../core/_std.ts";
import { UsageError } from "../core/errors.ts";
import { type Compute, COMPUTE_CHOICES, type Format, FORMAT_CHOICES, parsePatch } from "../core/types.ts";
import { SHIPPED_CARDS, shippedCard } from "../cards/shipped.ts";

/** `-u`'s default for each shipped card, and its named spacings, for `--help`. */
function spacingDefaults(): string {
  const def: string[] = [], grid: string[] = [], named: string[] = [];
  for (const id of SHIPPED_CARDS) {
    const c = shippedCard(id)!;
    if (c.resampling.method === "none") grid.push(id);
    else def.push(`${id} ${c.spacing[0]}`);
    if (c.spacings) named.push(`${id}: ${Object.keys(c.spacings).join(", ")}`);
  }
  return `(default: the card's: ${def.join(", ")}; ${grid.join(", ")} on the input grid), or a card's named spacing (${
    named.join("; ")
  })`;
}

/** Wraps words into lines of at most `width` characters, each after `indent`. */
function wrap(text: string, indent: string, width = 80): string {
  const lines: string[] = [];
  let line = "";
  for (const w of text.split(" ")) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  lines.push(line);
  return lines.map((l) => indent + l).join("\n");
}

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
  /** `-u`: target spacing in mm or a card's named spacing (`highres`, `lowres`), undefined: the model card's. */
  spacing?: number | string;
  /** `-C`: `18` (all SIAM classes) or `spm` (6 SPM12 tissue classes). */
  classes: "18" | "spm";
  /** `--tpm`: the file at `-o` is the 4-D probability map instead of the labels (as the C++ siamize). */
  tpm: boolean;
  /** `--tpm-out`: also write the probability map here (labels stay at `-o`). */
  tpmOut?: string;
  /** `--tpm-t`: softmax temperature for the probability maps. */
  tpmT: number;
  /** `--upsample`: keep the resampled (target-spacing) canonical grid. */
  upsample: boolean;
  /** `-F`: output format, undefined: from the output's extension. */
  format?: Format;
  /** Byte-shuffle JNIfTI probability payloads (`_ArrayShuffle_`); on unless `--no-shuffle`, as the C++ siamize. */
  shuffle: boolean;
  /** `--bnii-endian`: byte order of .bnii numbers (little = BJData Draft 2; big = Draft 1 readers). */
  bniiEndian: "little" | "big";
  /** `--lowmem`: smaller patch, no memory arena. */
  lowmem: boolean;
  /** `--no-arena`: disable ORT's CPU memory arena. */
  noArena: boolean;
  /** `--step`: tile step as a fraction of the patch, undefined: the card's. */
  step?: number;
  /** `--tta`: test-time mirroring (8 network passes per tile). */
  tta: boolean;
  /** `--keep-sessions` (true) / `--release-sessions` (false); undefined: keep in batches, release for one input. */
  keepSessions?: boolean;
  /** `--no-sidecar`: no `<stem>.labels.tsv` beside NIfTI outputs. */
  noSidecar: boolean;
  /** `--vol`: append tissue volumes to this table. */
  vol?: string;
  /** `--qc`: write a QC montage PNG. */
  qc?: string;
  /** `--shard i/n`: take every n-th input of a batch, starting at the i-th. */
  shard?: string;
  /** `--card`: a shipped card's name or a model card JSON file (default: SIAM v0.3). */
  card?: string;
  /** `--overwrite`: replace existing outputs. */
  overwrite: boolean;
  /** `--report`: write a JSON run record here. */
  report?: string;
  /** `--series N`: of DICOM input (a folder, a zip), only the series with this SeriesNumber. */
  series?: number;
  /** `--dicom-allow-gaps`: take dcm2niix's equidistant volume for a DICOM series with gaps. */
  dicomAllowGaps?: boolean;
  /** `-v`. */
  verbose: boolean;
  /** `-q`. */
  quiet: boolean;
  /** `-h`. */
  help: boolean;
  /** `-V`. */
  version: boolean;
}

/**
 * The C++ siamize's CUDA/TensorRT tuning flags. onnxruntime-node exposes no
 * such provider options, so they are accepted (and validated) for scripts
 * written for the C++ tool, and have no effect.
 */
const CPP_GPU_TUNING = {
  "trt-cache-dir": { type: "string" },
  "cudnn-max-workspace": { type: "string" },
  "arena-extend": { type: "string" },
  "cudnn-algo": { type: "string" },
  "gpu-mem-limit": { type: "string" },
} as const;

/** Values the C++ siamize accepts for its tuning flags. */
const CPP_GPU_VALUES: Record<keyof typeof CPP_GPU_TUNING, RegExp> = {
  "trt-cache-dir": /./,
  "cudnn-max-workspace": /^[01]$/,
  "arena-extend": /^(power|same|kNextPowerOfTwo|kSameAsRequested)$/,
  "cudnn-algo": /^(default|heuristic|exhaustive)$/i,
  "gpu-mem-limit": /^\d+[KMGkmg]?$/,
};

const SPEC = {
  input: { type: "string", short: "i" },
  output: { type: "string", short: "o" },
  model: { type: "string", short: "M", multiple: true },
  models: { type: "string", multiple: true },
  compute: { type: "string", short: "c" },
  gpu: { type: "string", short: "G" },
  threads: { type: "string", short: "t" },
  thread: { type: "string" },
  patch: { type: "string", short: "P" },
  spacing: { type: "string", short: "u" },
  classes: { type: "string", short: "C" },
  tpm: { type: "string" },
  "tpm-t": { type: "string" },
  "tpm-out": { type: "string" },
  upsample: { type: "boolean" },
  format: { type: "string", short: "F" },
  shuffle: { type: "boolean" },
  "no-shuffle": { type: "boolean" },
  ...CPP_GPU_TUNING,
  "bnii-endian": { type: "string" },
  lowmem: { type: "boolean" },
  "no-arena": { type: "boolean" },
  step: { type: "string" },
  tta: { type: "boolean" },
  "keep-sessions": { type: "boolean" },
  "release-sessions": { type: "boolean" },
  overwrite: { type: "boolean" },
  card: { type: "string" },
  shard: { type: "string" },
  "no-sidecar": { type: "boolean" },
  vol: { type: "string" },
  qc: { type: "string" },
  report: { type: "string" },
  series: { type: "string" },
  "dicom-allow-gaps": { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

/**
 * Whether a command-line token is an option that takes the next token as its
 * value (`-o`, `--model`, …; `--tpm` takes `0`/`1` when that follows).
 */
export function optionTakesValue(token: string, next?: string): boolean {
  if (token.includes("=") || !token.startsWith("-")) return false;
  if (token === "--tpm") return next === "0" || next === "1";
  const name = token.startsWith("--") ? token.slice(2) : token.slice(1);
  const spec = Object.entries(SPEC).find(([long, v]) =>
    token.startsWith("--") ? long === name : "short" in v && v.short === name
  );
  return spec?.[1].type === "string";
}

/** Usage text for `--help`. */
export const HELP = `siamize — segment a head MRI into 18 tissues with SIAM v0.3 (ONNX Runtime)

Usage: siamize -i T1.nii.gz -o labels.nii.gz [options]
       siamize -i FOLDER|@list.txt -o OUT_FOLDER [--shard i/n] [options]
       siamize --card hnoseg-xs-brats -i t1c,t1n,t2f,t2w -o seg.nii.gz -M model.onnx
       siamize cards          list the shipped model cards
       siamize doctor         what each execution provider needs and whether it is here
       siamize web build OUTDIR | web serve DIR   the pipeline in a browser tab (web --help)
       siamize prompt -i SLICE -o OUT --box X1 Y1 X2 Y2 [--point X Y [0]] -M ENC,DEC
                              SAMRI: segment a 2-D slice from a box/points (prompt --help)
       siamize bids BIDS_DIR OUT_DIR participant|group [--participant-label L …|FILE]
               [--session-label S …|FILE] [--bids-suffix T1w,T2w]
               [--skip_bids_validator] [options, before or after]

  -i, --input FILE       input scan (.nii, .nii.gz, .jnii, .bnii, or DICOM: a
                         folder, a .zip or a multi-frame file; one series per
                         input, several a batch)
      --series N         DICOM: only the series with SeriesNumber N
      --dicom-allow-gaps DICOM: take dcm2niix's equidistant volume for a series
                         with missing slices or varying spacing (default: refuse)
  -o, --output FILE      output label image (.nii, .nii.gz, .jnii, .bnii)
  -M, --models LIST      models, comma-separated: fold digits 0-4, ranges
                         such as 0:4, "all", file names in the cache, or
                         paths to .onnx (default 0; also --model)
  -c, --compute NAME     auto|cpu|cuda|tensorrt (trt)|coreml|webgpu (default auto)
  -G, --gpu N            GPU device id (default 0)
  -t, --thread N         CPU threads (default: min(cores, 16); also --threads)
  -P, --patch ZxYxX      sliding-window patch (default from the model card,
                         256x256x192 for SIAM v0.3)
  -u, --spacing MM|NAME  isotropic working spacing in mm
${wrap(spacingDefaults(), " ".repeat(25))}
  -C, --classes 18|spm   18 SIAM labels, or the 6 SPM12 tissue classes
      --tpm [0|1]        the file at -o is the 4-D float32 probability map
                         (X, Y, Z, classes) instead of the labels (as the C++
                         siamize); a folder batch writes both (<stem>_tpm)
      --tpm-out FILE     keep the labels at -o and also write the map to FILE
      --tpm-t T          softmax temperature for the map (default 1)
      --upsample         keep the 0.75 mm canonical grid instead of the input's
  -F, --format FMT       nii|jnii|bnii (default: from the output's extension)
      --no-shuffle       no byte shuffle (_ArrayShuffle_) of JNIfTI probability
                         maps (default on, as the C++ siamize; --shuffle kept)
      --bnii-endian E    little (BJData Draft 2, default) or big (Draft 1
                         readers such as Debian 12's python3-bjdata)
      --lowmem           patch 192x192x128 (the CPU memory arena is already off)
      --trt-cache-dir P, --cudnn-max-workspace 0|1, --arena-extend power|same,
      --cudnn-algo A, --gpu-mem-limit N
                         the C++ siamize's CUDA tuning: accepted, no effect
                         (onnxruntime-node has no such options)
      --no-arena         no ONNX Runtime CPU memory arena (already the default)
      --step S           tile step as a fraction of the patch, 0 < S <= 1
                         (default the card's: 0.5 for nnU-Net cards)
      --tta              mirror each tile over the three axes (8 network
                         passes, averaged as nnU-Net's predictor; ~8x time)
      --keep-sessions    keep every fold's network loaded (batch default)
      --release-sessions release each fold's network after its tiles (default
                         for one input: one network resident at a time)
      --no-sidecar       no <stem>.labels.tsv label table beside NIfTI outputs
      --vol FILE         append tissue volumes (mL) and TIV to FILE (.csv, .tsv, .json)
      --qc FILE.png      write a QC montage (9 slices, label overlay, legend)
      --card NAME|FILE   model card: a shipped one by name (siamize cards lists
                         them) or a card JSON file (default: siam-v0.3)
      --shard i/n        batch: take inputs i, i+n, i+2n, … (also from
                         SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT)
      --overwrite        replace an existing output (default: refuse)
      --report FILE      write a JSON record of the run (model files and their
                         SHA-256, provider, patch, timings, peak RSS, …)
  -v, --verbose          say what happens, with per-stage times
  -q, --quiet            errors only
  -h, --help             this text
  -V, --version          print the version

Exit codes: 0 done, 64 usage error, 65 bad input data, 66 missing input or
model, 73 cannot write, 16-20 BIDS (not a dataset, unknown analysis level,
filters selected nothing, output in a raw dataset's \`sub-*\`, output holds a
raw dataset), 130/143 interrupted (Ctrl-C / SIGTERM), 1 anything else (in a
batch: any input failed).`;

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
      if (next === "0" || next === "1" || next === "false" || next === "true") {
        out.push(`--tpm=${next === "true" ? "1" : next === "false" ? "0" : next}`);
        i++;
      } else out.push("--tpm=1");
    } else out.push(a);
  }
  return out;
}

/** `"0:4"` → `["0", "1", "2", "3", "4"]` (the C++ siamize's fold range); anything else as it is. */
function expandFoldRange(spec: string): string[] {
  const m = spec.match(/^(\d):(\d)$/);
  if (!m) return [spec];
  const [a, b] = [Number(m[1]), Number(m[2])];
  if (a > b) bad(`-M ${spec}: empty fold range`);
  return Array.from({ length: b - a + 1 }, (_, k) => String(a + k));
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

  let compute = (s("compute") ?? "auto").toLowerCase();
  if (compute === "trt") compute = "tensorrt"; // the C++ siamize's alias
  if (!(COMPUTE_CHOICES as readonly string[]).includes(compute)) {
    bad(`-c must be one of ${COMPUTE_CHOICES.join("|")}, got "${compute}"`);
  }
  const classes = (s("classes") ?? "18").toLowerCase();
  if (/^\d+$/.test(classes) && classes !== "18") {
    bad(`-C ${classes}: a model with ${classes} classes needs a model card (--card) describing them`);
  }
  if (classes !== "18" && classes !== "spm") bad(`-C must be 18 or spm, got "${classes}"`);
  const format = s("format")?.toLowerCase();
  if (format !== undefined && !(FORMAT_CHOICES as readonly string[]).includes(format)) {
    bad(`-F must be one of ${FORMAT_CHOICES.join("|")}, got "${format}"`);
  }
  const bniiEndian = (s("bnii-endian") ?? "little").toLowerCase();
  if (bniiEndian !== "little" && bniiEndian !== "big") bad(`--bnii-endian must be little or big, got "${bniiEndian}"`);
  const tpm = s("tpm");
  if (tpm !== undefined && tpm !== "0" && tpm !== "1") bad(`--tpm takes 0 or 1, got "${tpm}"`);
  for (const [k, re] of Object.entries(CPP_GPU_VALUES)) {
    const v = s(k as keyof typeof SPEC);
    if (v !== undefined && !re.test(v)) bad(`--${k}: invalid value "${v}"`);
  }
  const models = [...((values.model as string[] | undefined) ?? []), ...((values.models as string[] | undefined) ?? [])]
    .flatMap((m) => m.split(","))
    .map((m) => m.trim())
    .filter((m) => m !== "")
    .flatMap(expandFoldRange);
  if (s("thread") !== undefined && s("threads") !== undefined) bad("give -t/--thread once");
  const threads = s("threads") ?? s("thread");
  const opts: CliOptions = {
    input: s("input"),
    output: s("output"),
    models: models.length ? models : ["0"],
    compute: compute as Compute,
    gpu: s("gpu") !== undefined ? nonNegativeInt("-G", s("gpu")!) : 0,
    threads: threads !== undefined && threads !== "0" ? positiveInt("-t", threads) : undefined,
    patch: s("patch") !== undefined ? parsePatch(s("patch")!) : undefined,
    spacing: s("spacing") !== undefined
      ? (/^[a-z][\w-]*$/i.test(s("spacing")!) ? s("spacing")! : positiveNumber("-u", s("spacing")!))
      : undefined,
    classes: classes as "18" | "spm",
    tpm: tpm === "1",
    tpmOut: s("tpm-out"),
    tpmT: s("tpm-t") !== undefined ? positiveNumber("--tpm-t", s("tpm-t")!) : 1,
    upsample: b("upsample"),
    format: format as Format | undefined,
    shuffle: !b("no-shuffle"),
    bniiEndian: bniiEndian as "little" | "big",
    lowmem: b("lowmem"),
    noArena: b("no-arena"),
    step: s("step") !== undefined ? positiveNumber("--step", s("step")!) : undefined,
    tta: b("tta"),
    keepSessions: b("keep-sessions") ? true : b("release-sessions") ? false : undefined,
    overwrite: b("overwrite"),
    card: s("card"),
    shard: s("shard"),
    noSidecar: b("no-sidecar"),
    vol: s("vol"),
    qc: s("qc"),
    report: s("report"),
    series: s("series") !== undefined ? nonNegativeInt("--series", s("series")!) : undefined,
    dicomAllowGaps: b("dicom-allow-gaps"),
    verbose: b("verbose"),
    quiet: b("quiet"),
    help: b("help"),
    version: b("version"),
  };
  if (opts.verbose && opts.quiet) bad("-v and -q cannot be combined");
  if (b("shuffle") && b("no-shuffle")) bad("--shuffle and --no-shuffle cannot be combined");
  if (b("keep-sessions") && b("release-sessions")) bad("--keep-sessions and --release-sessions cannot be combined");
  if (opts.tpm && opts.tpmOut) {
    bad("--tpm puts the probability map at -o; for labels at -o and the map elsewhere give only --tpm-out FILE");
  }
  if (!opts.help && !opts.version && requireIO) {
    if (!opts.input) bad("missing -i INPUT");
    if (!opts.output) bad("missing -o OUTPUT");
  }
  return opts;
}
