/**
 * `siamize prompt` flags: SAMRI's `inference.py` (`-i`, `-o`, `--box`,
 * `--point`, `--no-png`) with ours (`-M ENCODER,DECODER`, `-c`, `-t`,
 * `--slice`, `--propagate`, `--prompts`, …). Pure: no I/O.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { type Compute, COMPUTE_CHOICES } from "../core/types.ts";
import type { PointPrompt } from "../prompt/prompts.ts";
import type { SliceRef } from "../prompt/slice.ts";

/** Everything `siamize prompt` can be told. */
export interface PromptCliOptions {
  /** `-i`: NIfTI, PNG, JPEG or TIFF. */
  input?: string;
  /** `-o`: a folder (SAMRI's names inside) or a file. */
  output?: string;
  /** `--box X1 Y1 X2 Y2`. */
  box?: [number, number, number, number];
  /** `--point X Y [LABEL]`, repeatable. */
  points: PointPrompt[];
  /** PNG beside the NIfTI (off with `--no-png`). */
  png: boolean;
  /** `-M ENCODER,DECODER`. */
  models?: [string, string];
  /** `-c`. */
  compute: Compute;
  /** `-G`. */
  gpu: number;
  /** `-t` (undefined: automatic). */
  threads?: number;
  /** `--slice AXIS:INDEX` of a 3-D volume. */
  slice?: SliceRef;
  /** `--propagate`: slice after slice in both directions from `--slice`. */
  propagate: boolean;
  /** `--margin PX`: added around the previous mask's box when propagating. */
  margin: number;
  /** `--prompts FILE.json`. */
  prompts?: string;
  /** `--no-cache`: neither read nor write cached embeddings. */
  cache: boolean;
  /** `--card NAME|FILE` (default `samri-vit-b`). */
  card: string;
  /** `--overwrite`. */
  overwrite: boolean;
  /** `-v`. */
  verbose: boolean;
  /** `-q`. */
  quiet: boolean;
  /** `-h`. */
  help: boolean;
}

/** `siamize prompt --help`. */
export const PROMPT_HELP =
  `siamize prompt: segment a 2-D MRI slice (or slices of a 3-D scan) from a box and/or points (SAMRI)

usage: siamize prompt -i IMAGE -o OUT [--box X1 Y1 X2 Y2] [--point X Y [0]]... -M ENCODER.onnx,DECODER.onnx

  -i, --input FILE        NIfTI (1,H,W), (H,W), (H,W,1), a 3-D volume with --slice; or PNG, JPEG, TIFF
  -o, --output PATH       a folder: <base>_seg_.nii.gz (+ <base>_seg_.png) as SAMRI names them; or a file
  --box X1 Y1 X2 Y2       box in pixels (x = column, y = row); no prompt at all = the whole image
  --point X Y [0]         a point (repeatable); a trailing 0 makes it negative (outside)
  --no-png                no PNG
  -M, --models ENC,DEC    the encoder and decoder ONNX files (default: the card's names in the cache)
  --slice AXIS:INDEX      a slice of a 3-D volume: vol.take(INDEX, AXIS) of the stored array
  --propagate             from --slice on, slice after slice both ways, prompted by the previous mask's box
  --margin PX             pixels added around that box (default 2)
  --prompts FILE.json     many prompts over many slices: [{"slice": "2:80", "box": [...], "points": [[x, y, 1]]}]
  --no-cache              do not use the embeddings cache (in the weights cache folder)
  --card NAME|FILE        a prompt-2d card (default samri-vit-b)
  -c, --compute NAME      auto (= cpu), cpu, cuda, tensorrt, coreml, webgpu
  -G, --gpu N             GPU device id
  -t, --threads N         CPU threads
  --overwrite             replace existing outputs
  -v, -q                  say what happens / errors only
  -h, --help              this text`;

function num(flag: string, s: string | undefined): number {
  const v = s === undefined ? NaN : Number(s);
  if (s === undefined || s.trim() === "" || !Number.isFinite(v)) {
    throw new UsageError(`${flag}: ${s === undefined ? "missing value" : `not a number: ${s}`}`);
  }
  return v;
}

/** Parses `AXIS:INDEX`. */
export function parseSliceRef(s: string): SliceRef {
  const m = /^([0-2]):(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--slice ${s}: AXIS:INDEX expected, AXIS 0, 1 or 2 (e.g. 2:80)`);
  return { axis: Number(m[1]), index: Number(m[2]) };
}

/**
 * Parses the arguments after `siamize prompt`.
 *
 * @example
 * ```ts
 * import { parsePromptCli } from "./prompt_args.ts";
 *
 * const o = parsePromptCli(["-i", "a.nii.gz", "-o", "out", "--box", "1", "2", "30", "40", "--point", "5", "6", "0"]);
 * console.log(o.box, o.points); // [1, 2, 30, 40] [{ x: 5, y: 6, label: 0 }]
 * ```
 */
export function parsePromptCli(argv: string[]): PromptCliOptions {
  const o: PromptCliOptions = {
    points: [],
    png: true,
    compute: "auto",
    gpu: 0,
    propagate: false,
    margin: 2,
    cache: true,
    card: "samri-vit-b",
    overwrite: false,
    verbose: false,
    quiet: false,
    help: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`${flag}: missing value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (eq > 0) argv = [...argv.slice(0, i), flag, a.slice(eq + 1), ...argv.slice(i + 1)];
    switch (flag) {
      case "-i":
      case "--input":
        o.input = value(i++, flag);
        break;
      case "-o":
      case "--output":
        o.output = value(i++, flag);
        break;
      case "--box": {
        if (o.box) throw new UsageError("--box given twice (one box per prompt)");
        const v = [1, 2, 3, 4].map((k) => num(flag, argv[i + k]));
        o.box = v as [number, number, number, number];
        i += 4;
        break;
      }
      case "--point": {
        const x = num(flag, argv[i + 1]), y = num(flag, argv[i + 2]);
        i += 2;
        let label: 0 | 1 = 1;
        const next = argv[i + 1];
        if (next === "0" || next === "1") {
          label = next === "0" ? 0 : 1;
          i++;
        }
        o.points.push(label === 1 ? { x, y } : { x, y, label });
        break;
      }
      case "--no-png":
        o.png = false;
        break;
      case "-M":
      case "--models":
      case "--model": {
        const parts = value(i++, flag).split(",").map((s) => s.trim()).filter((s) => s);
        if (parts.length !== 2) throw new UsageError(`${flag} ${argv[i]}: ENCODER.onnx,DECODER.onnx expected`);
        o.models = [parts[0], parts[1]];
        break;
      }
      case "-c":
      case "--compute": {
        const c = value(i++, flag) as Compute;
        if (!COMPUTE_CHOICES.includes(c)) throw new UsageError(`${flag} ${c}: one of ${COMPUTE_CHOICES.join(", ")}`);
        o.compute = c;
        break;
      }
      case "-G":
      case "--gpu":
        o.gpu = num(flag, value(i++, flag));
        if (!Number.isInteger(o.gpu) || o.gpu < 0) throw new UsageError(`${flag} ${o.gpu}: a device id ≥ 0`);
        break;
      case "-t":
      case "--thread":
      case "--threads": {
        const t = num(flag, value(i++, flag));
        if (!Number.isInteger(t) || t < 0) throw new UsageError(`${flag} ${t}: a thread count ≥ 0`);
        o.threads = t === 0 ? undefined : t;
        break;
      }
      case "--slice":
        o.slice = parseSliceRef(value(i++, flag));
        break;
      case "--propagate":
        o.propagate = true;
        break;
      case "--margin":
        o.margin = num(flag, value(i++, flag));
        if (!(o.margin >= 0)) throw new UsageError(`--margin ${o.margin}: pixels ≥ 0`);
        break;
      case "--prompts":
        o.prompts = value(i++, flag);
        break;
      case "--no-cache":
        o.cache = false;
        break;
      case "--card":
        o.card = value(i++, flag);
        break;
      case "--overwrite":
        o.overwrite = true;
        break;
      case "-v":
      case "--verbose":
        o.verbose = true;
        break;
      case "-q":
      case "--quiet":
        o.quiet = true;
        break;
      case "-h":
      case "--help":
        o.help = true;
        break;
      default:
        throw new UsageError(`prompt: unknown option ${a} (siamize prompt --help)`);
    }
  }
  if (o.help) return o;
  if (!o.input) throw new UsageError("prompt: -i IMAGE is required");
  if (!o.output) throw new UsageError("prompt: -o OUT is required");
  if (o.verbose && o.quiet) throw new UsageError("-v and -q cannot be combined");
  if (o.propagate && !o.slice) throw new UsageError("--propagate needs --slice AXIS:INDEX (the slice to start from)");
  if (o.propagate && o.points.length && !o.box) {
    throw new UsageError("--propagate needs a --box on the first slice (the next slices are prompted by boxes)");
  }
  if (o.prompts && (o.box || o.points.length || o.slice || o.propagate)) {
    throw new UsageError(
      "--prompts FILE holds the prompts and slices: no --box, --point, --slice or --propagate with it",
    );
  }
  return o;
}
