/**
 * Many scans with one segmenter: input listing (a folder or `@list.txt`),
 * deterministic sharding for cluster arrays, skip-what-is-done, and a run
 * that survives bad inputs and reports done / skipped / failed.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "../core/_std.ts";
import { EXIT_DATAERR, EXIT_NOINPUT, SiamizeError, UsageError } from "../core/errors.ts";
import { errorText } from "../core/fsutil.ts";
import { formatOf, readVolume } from "../io/read.ts";
import { parseJsonBounded } from "../core/limits.ts";

/** Extensions of scans a folder run picks up. */
export const SCAN_EXTENSIONS = [".nii", ".nii.gz", ".jnii", ".bnii"];

/** The largest `@list` file read (64 MiB); devices and FIFOs are refused. */
const MAX_LIST_BYTES = 64 * 2 ** 20;

/** Whether a file name looks like a scan. */
export function isScan(name: string): boolean {
  const l = name.toLowerCase();
  return SCAN_EXTENSIONS.some((e) => l.endsWith(e)) && !name.startsWith(".");
}

/**
 * Inputs of a batch: every scan in a folder (sorted by name), or the paths
 * listed in a text file given as `@list.txt` (one per line; blank lines and
 * `#` comments skipped; relative paths are relative to the list).
 */
export async function listInputs(spec: string): Promise<string[]> {
  if (spec.startsWith("@")) {
    const list = spec.slice(1);
    let text: string;
    try {
      const st = await Deno.stat(list);
      if (!st.isFile) throw new Error("not a regular file");
      if (st.size > MAX_LIST_BYTES) throw new Error(`${st.size} bytes, more than an input list holds`);
      text = await Deno.readTextFile(list);
    } catch (e) {
      throw new SiamizeError(`${list}: cannot read the input list (${errorText(e)})`, EXIT_NOINPUT);
    }
    const base = dirname(resolve(list));
    const paths = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    if (!paths.length) throw new SiamizeError(`${list}: the input list is empty`, EXIT_NOINPUT);
    return paths.map((p) => resolve(base, p));
  }
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(spec)) if (e.isFile && isScan(e.name)) out.push(join(spec, e.name));
  } catch (e) {
    throw new SiamizeError(`${spec}: cannot list the folder (${errorText(e)})`, EXIT_NOINPUT);
  }
  if (!out.length) throw new SiamizeError(`${spec}: no .nii, .nii.gz, .jnii or .bnii files`, EXIT_NOINPUT);
  return out.sort();
}

/** A shard: `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `"i/n"` (1-based). */
export function parseShard(s: string): Shard {
  const m = s.match(/^(\d+)\/(\d+)$/);
  if (!m || Number(m[2]) < 1 || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) {
    throw new UsageError(`--shard needs i/n with 1 <= i <= n, got "${s}" (see --help)`);
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}

/**
 * The shard from SLURM's array variables, when set: task id (minus
 * `SLURM_ARRAY_TASK_MIN`, default 0) over `SLURM_ARRAY_TASK_COUNT`.
 */
export function slurmShard(env: (k: string) => string | undefined): Shard | undefined {
  const id = env("SLURM_ARRAY_TASK_ID"), count = env("SLURM_ARRAY_TASK_COUNT");
  if (id === undefined || count === undefined) return undefined;
  const min = Number(env("SLURM_ARRAY_TASK_MIN") ?? "0");
  const k = Number(id) - min, n = Number(count);
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k >= n) {
    throw new UsageError(`SLURM_ARRAY_TASK_ID=${id} (min ${min}) does not fit SLURM_ARRAY_TASK_COUNT=${count}`);
  }
  return { index: k + 1, count: n };
}

/** Items of a shard: every `count`-th item starting at `index - 1` (round robin over the sorted list). */
export function takeShard<T>(items: T[], shard?: Shard): T[] {
  if (!shard || shard.count === 1) return items;
  return items.filter((_, k) => k % shard.count === shard.index - 1);
}

/** Splits `a/b.nii.gz` into stem `b` and extension `.nii.gz`. */
export function stemOf(path: string): string {
  const name = basename(path);
  const l = name.toLowerCase();
  const ext = SCAN_EXTENSIONS.filter((e) => l.endsWith(e)).sort((a, b) => b.length - a.length)[0] ?? "";
  return name.slice(0, name.length - ext.length);
}

/** Output path for an input in folder mode: `OUT/<stem>_seg<ext>` (`.nii.gz` unless `-F`). */
export function batchOutput(input: string, outDir: string, format?: "nii" | "jnii" | "bnii"): string {
  const ext = format === "jnii" ? ".jnii" : format === "bnii" ? ".bnii" : ".nii.gz";
  return join(outDir, `${stemOf(input)}_seg${ext}`);
}

/**
 * Throws (exit 65, before any work) when two inputs of a batch would write
 * the same output, e.g. `a.nii` beside `a.nii.gz` (both `a_seg.nii.gz`);
 * output names are compared case-insensitively, as some file systems do.
 */
export function checkBatchCollisions(jobs: BatchJob[]): void {
  const seen = new Map<string, BatchJob>();
  for (const j of jobs) {
    for (const o of j.outputs ?? [j.output]) {
      const key = resolve(o).toLowerCase();
      const prior = seen.get(key);
      if (prior && prior !== j) {
        throw new SiamizeError(
          `${prior.input} and ${j.input} would both write ${o}: remove or rename one of them`,
          EXIT_DATAERR,
        );
      }
      seen.set(key, j);
    }
  }
}

/**
 * Whether an output exists and reads back (a finished earlier run): a volume,
 * or for a `.json` sidecar, a JSON object.
 */
export async function isValidOutput(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
  } catch {
    return false;
  }
  try {
    if (path.toLowerCase().endsWith(".json")) {
      const v = parseJsonBounded(await Deno.readTextFile(path));
      return typeof v === "object" && v !== null && !Array.isArray(v);
    }
    await readVolume(path, { allow4D: true });
    return formatOf(path) !== undefined;
  } catch {
    return false;
  }
}

/** Outcome of a batch. */
export interface BatchSummary {
  done: string[];
  skipped: string[];
  failed: { input: string; error: string }[];
}

/** One-line summary text. */
export function summaryLine(s: BatchSummary): string {
  return `${s.done.length} done, ${s.skipped.length} skipped, ${s.failed.length} failed`;
}

/** A job of a batch: what to read, what to write, and how. */
export interface BatchJob {
  input: string;
  /** The main output; the job is skipped when it is already valid. */
  output: string;
  /**
   * Every output the job is asked for (default: `[output]`); the job is
   * skipped only when all of them are valid.
   */
  outputs?: string[];
}

/** Whether every output a job is asked for exists and is valid. */
export async function isJobDone(job: BatchJob): Promise<boolean> {
  for (const p of job.outputs ?? [job.output]) if (!await isValidOutput(p)) return false;
  return true;
}

/** Options of {@linkcode runBatch}. */
export interface BatchOptions<J extends BatchJob = BatchJob> {
  /** Replace valid outputs instead of skipping them. */
  overwrite?: boolean;
  /** Called before each job (k of n). */
  onStart?: (job: J, k: number, n: number) => void;
  /** Called when a job fails. */
  onError?: (job: J, message: string) => void;
  /** Stops between jobs. */
  signal?: AbortSignal;
  /** Called with the next job to run when a job starts (to read it ahead). */
  prefetch?: (job: J) => void;
}

/**
 * Runs `work` for each job in order; a failing job is reported and the run
 * goes on. Jobs whose outputs are all already valid are skipped (unless
 * `overwrite`). Interruptions (the signal) are not failures: they propagate.
 */
export async function runBatch<J extends BatchJob>(
  jobs: J[],
  work: (job: J) => Promise<void>,
  o: BatchOptions<J> = {},
): Promise<BatchSummary> {
  const s: BatchSummary = { done: [], skipped: [], failed: [] };
  const skip = await Promise.all(jobs.map((j) => (o.overwrite ? false : isJobDone(j))));
  for (const [k, job] of jobs.entries()) {
    o.signal?.throwIfAborted();
    if (skip[k]) {
      s.skipped.push(job.input);
      continue;
    }
    const next = jobs.findIndex((_, j) => j > k && !skip[j]);
    if (next >= 0) o.prefetch?.(jobs[next]);
    o.onStart?.(job, k, jobs.length);
    try {
      await work(job);
      s.done.push(job.input);
    } catch (e) {
      if (o.signal?.aborted) throw e;
      const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
      s.failed.push({ input: job.input, error: msg });
      o.onError?.(job, msg);
    }
  }
  return s;
}
