/**
 * `siamize` command line: a drop-in for the C++ siamize's flags, plus folder
 * and list batches, cluster sharding, and a BIDS App mode.
 *
 * ```sh
 * deno run -A jsr:@neurojson/siamize -i T1.nii.gz -o labels.nii.gz
 * ```
 *
 * @module
 */
import { dirname, join, resolve } from "./lib/_std.ts";
import { type CliOptions, HELP, parseCli } from "./lib/args.ts";
import {
  type BatchOptions,
  batchOutput,
  type BatchSummary,
  listInputs,
  parseShard,
  runBatch,
  slurmShard,
  summaryLine,
  takeShard,
} from "./lib/batch.ts";
import {
  bidsOutputs,
  dsegSidecar,
  EXIT_NO_MATCH,
  findBidsScans,
  probsegSidecar,
  writeDerivativeMetadata,
  writeJson,
} from "./lib/bids.ts";
import { progressPrinter } from "./lib/download.ts";
import { EXIT_FAILURE, SiamizeError, UsageError } from "./lib/errors.ts";
import { errorText, exists, installSignalCleanup, writeFileAtomic } from "./lib/fsutil.ts";
import { readVolume, writeVolume } from "./lib/io.ts";
import { loadCard } from "./lib/model_card.ts";
import { plannedOutputs, writeOutputs } from "./lib/outputs.ts";
import { ProgressReporter } from "./lib/progress.ts";
import { buildReport, peakRss, VERSION } from "./lib/report.ts";
import { Segmenter } from "./lib/segment.ts";
import { appendVolumes, tissueVolumes } from "./lib/volumes.ts";

/** Where messages go; tests capture them. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  isTty: boolean;
}

const defaultIo: Io = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  isTty: Deno.stderr.isTerminal(),
};

function fmtSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

function env(k: string): string | undefined {
  try {
    return Deno.env.get(k);
  } catch {
    return undefined;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isDirectory;
  } catch {
    return false;
  }
}

/** Checks the outputs of one job can be written (folder exists, nothing overwritten unasked). */
async function checkOutput(opts: CliOptions, input: string, output: string): Promise<void> {
  const out = resolve(output);
  const planned = plannedOutputs(out, { tpm: opts.tpm, sidecar: !opts.noSidecar, format: opts.format, qc: opts.qc });
  if (resolve(input) === out) throw new UsageError(`output ${output} is the input`);
  const dir = dirname(out);
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(dir);
  } catch {
    throw new SiamizeError(`${output}: output folder ${dir} does not exist`, 73);
  }
  if (!st.isDirectory) throw new SiamizeError(`${output}: ${dir} is not a folder`, 73);
  if (!opts.overwrite) {
    for (const p of planned) {
      if (await exists(p)) throw new SiamizeError(`${p}: already exists (use --overwrite to replace it)`, 73);
    }
  }
  if (opts.qc && !opts.qc.toLowerCase().endsWith(".png")) {
    throw new UsageError(`--qc ${opts.qc}: the picture must be a .png file`);
  }
  if (opts.vol && !/\.(csv|tsv|json)$/i.test(opts.vol)) {
    throw new UsageError(`--vol ${opts.vol}: use a .csv, .tsv or .json file`);
  }
  try {
    await Deno.stat(input);
  } catch (e) {
    throw new SiamizeError(`${input}: cannot read (${errorText(e)})`, 66);
  }
}

async function makeSegmenter(
  opts: CliOptions,
  io: Io,
  progress: ProgressReporter,
  signal?: AbortSignal,
): Promise<Segmenter> {
  const info = (l: string) => progress.line(l);
  const seg = new Segmenter({
    card: opts.card ? await loadCard(opts.card) : undefined,
    models: opts.models,
    compute: opts.compute,
    gpu: opts.gpu,
    threads: opts.threads,
    patch: opts.patch,
    spacing: opts.spacing,
    upsample: opts.upsample,
    classes: opts.classes,
    tpm: opts.tpm,
    tpmT: opts.tpmT,
    lowmem: opts.lowmem,
    noArena: opts.lowmem || opts.noArena ? true : undefined,
    log: info,
    onDownload: opts.quiet
      ? undefined
      : progressPrinter((t) => Deno.stderr.writeSync(new TextEncoder().encode(t)), io.isTty),
    signal,
    onProgress: (p) => progress.tile(p.fold, p.folds, p.tile, p.tiles),
  });
  if (opts.verbose) {
    info(`models ${seg.models.map((m) => m.path).join(", ")}`);
    info(`patch ${seg.patch.join("x")}, threads ${seg.threads}`);
  }
  return seg;
}

/** Segments one input and writes its outputs; returns the paths written. */
async function segmentOne(
  seg: Segmenter,
  opts: CliOptions,
  input: string,
  output: string,
  progress: ProgressReporter,
): Promise<string[]> {
  const verbose = (l: string) => opts.verbose && progress.line(l);
  const wall0 = performance.now();
  const r = await seg.segment(input);
  const g = r.geometry;
  verbose(`crop box (z,y,x) ${g.box.map(([a, b]) => `${a}:${b}`).join(", ")} -> ${g.cropped.join("x")}`);
  verbose(`spacing (z,y,x) ${g.spacing.map((s) => s.toFixed(3)).join(", ")} -> resampled ${g.resampled.join("x")}`);
  if (g.nonFinite) verbose(`${g.nonFinite} non-finite voxels (NaN/Inf) treated as 0`);
  verbose(`provider ${r.provider}, ${r.tiles} tiles x ${r.models.length} fold(s)`);
  const tw = performance.now();
  const written = await writeOutputs(output, r, {
    format: opts.format,
    shuffle: opts.shuffle,
    endian: opts.bniiEndian,
    sidecar: !opts.noSidecar,
    vol: opts.vol,
    qc: opts.qc,
    inputName: input,
    card: seg.card,
  });
  const writeSeconds = (performance.now() - tw) / 1000;
  const wall = (performance.now() - wall0) / 1000;
  const t = r.timings;
  verbose(
    `times: read ${fmtSeconds(t.read)}, load ${fmtSeconds(t.load)}, preprocess ${fmtSeconds(t.preprocess)}, ` +
      `inference ${fmtSeconds(t.inference)}, accumulate ${fmtSeconds(t.accumulate)}, postprocess ${
        fmtSeconds(t.postprocess)
      }, write ${fmtSeconds(writeSeconds)}, ` +
      `total ${fmtSeconds(wall)}; peak RSS ${(peakRss() / 2 ** 30).toFixed(2)} GiB`,
  );
  if (opts.report) {
    const rep = buildReport(input, written, r, writeSeconds, wall);
    await writeFileAtomic(opts.report, new TextEncoder().encode(JSON.stringify(rep, null, 2) + "\n"));
    verbose(`report ${opts.report}`);
  }
  return written;
}

/** Progress hooks shared by folder and BIDS batches. */
function batchHooks(opts: CliOptions, progress: ProgressReporter, seg: Segmenter, signal?: AbortSignal): BatchOptions {
  return {
    overwrite: opts.overwrite,
    signal,
    prefetch: (job) => seg.prefetch(job.input),
    onStart: (job, k, n) => progress.start(job.input, k, n),
    onError: (_job, msg) => progress.end(`FAILED: ${msg}`),
  };
}

/** Prints what a batch skipped and failed and its summary line; the exit code. */
function reportBatch(summary: BatchSummary, opts: CliOptions, io: Io, progress: ProgressReporter): number {
  for (const s of summary.skipped) progress.line(`skipped ${s} (output exists; --overwrite to redo)`);
  for (const f of summary.failed) io.err(`siamize: ${f.error}`);
  if (!opts.quiet || summary.failed.length) io.err(`siamize: ${summaryLine(summary)}`);
  return summary.failed.length ? EXIT_FAILURE : 0;
}

async function runFolder(opts: CliOptions, io: Io, progress: ProgressReporter, signal?: AbortSignal): Promise<number> {
  const inputs = await listInputs(opts.input!);
  const shard = opts.shard ? parseShard(opts.shard) : slurmShard(env);
  const mine = takeShard(inputs, shard);
  try {
    await Deno.mkdir(opts.output!, { recursive: true });
  } catch (e) {
    throw new SiamizeError(`${opts.output}: cannot create the output folder (${errorText(e)})`, 73);
  }
  if (opts.qc) throw new UsageError("--qc names one picture: use it with a single input");
  if (opts.report) throw new UsageError("--report names one file: use it with a single input");
  if (shard) progress.line(`shard ${shard.index}/${shard.count}: ${mine.length} of ${inputs.length} inputs`);
  const seg = await makeSegmenter(opts, io, progress, signal);
  try {
    const jobs = mine.map((input) => ({ input, output: batchOutput(input, opts.output!, opts.format) }));
    const summary = await runBatch(jobs, async (job) => {
      if (opts.overwrite) await checkOutput({ ...opts, overwrite: true }, job.input, job.output);
      const written = await segmentOne(seg, { ...opts, overwrite: true }, job.input, job.output, progress);
      progress.end(`wrote ${written.join(", ")}`);
    }, batchHooks(opts, progress, seg, signal));
    return reportBatch(summary, opts, io, progress);
  } finally {
    await seg.close();
  }
}

function makeProgress(io: Io, opts: CliOptions): ProgressReporter {
  return new ProgressReporter({
    write: (
      t,
    ) => (io === defaultIo ? Deno.stderr.writeSync(new TextEncoder().encode(t)) : io.err(t.replace(/\n$/, ""))),
    isTty: io.isTty,
    quiet: opts.quiet,
    verbose: opts.verbose,
  });
}

const MULTI = ["--participant-label", "--participant_label", "--session-label", "--session_label"];

/** `siamize bids BIDS_DIR OUT_DIR participant|group [options]` (BIDS Apps conventions). */
async function runBids(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  // BIDS Apps order: the three positionals come first, then options.
  let first = argv.findIndex((a) => a.startsWith("-"));
  if (first < 0) first = argv.length;
  const positional = argv.slice(0, first);
  const participants: string[] = [], sessions: string[] = [];
  let suffixes = ["T1w"];
  const rest: string[] = [];
  for (let i = first; i < argv.length; i++) {
    const a = argv[i];
    const name = a.split("=")[0];
    if (MULTI.includes(name)) {
      const target = name.startsWith("--participant") ? participants : sessions;
      if (a.includes("=")) target.push(...a.slice(a.indexOf("=") + 1).split(","));
      while (i + 1 < argv.length && !argv[i + 1].startsWith("-")) target.push(argv[++i]);
      if (!target.length) throw new UsageError(`${name} needs at least one label (see --help)`);
    } else if (name === "--bids-suffix") {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (!v) throw new UsageError("--bids-suffix needs a value (see --help)");
      suffixes = v.split(",").map((x) => x.trim()).filter(Boolean);
    } else rest.push(a);
  }
  const opts = parseCli(rest, { requireIO: false });
  if (opts.help) {
    io.out(HELP);
    return 0;
  }
  if (positional.length !== 3) throw new UsageError("bids needs BIDS_DIR OUT_DIR participant|group (see --help)");
  const [bidsDir, outDir, level] = positional;
  if (level !== "participant" && level !== "group") {
    throw new UsageError(`analysis level must be participant or group, got "${level}"`);
  }
  const progress = makeProgress(io, opts);
  const scans = await findBidsScans(bidsDir, {
    participants: participants.length ? participants : undefined,
    sessions: sessions.length ? sessions : undefined,
    suffixes,
  });
  if (!scans.length) {
    io.err(`siamize: no ${suffixes.join("/")} scans in ${bidsDir} match the filters`);
    return EXIT_NO_MATCH;
  }
  if (level === "group") {
    const rows = [];
    for (const s of scans) {
      const o = bidsOutputs(outDir, s);
      try {
        const labels = await readVolume(o.dseg);
        const card = opts.card ? await loadCard(opts.card) : (await import("./lib/model_card.ts")).SIAM_V03;
        rows.push(
          tissueVolumes(
            labels,
            card.classes,
            card.intracranial,
            `sub-${s.subject}${s.session ? `_ses-${s.session}` : ""}`,
          ),
        );
      } catch (e) {
        io.err(`siamize: ${o.dseg}: ${errorText(e)} (run the participant level first)`);
        return EXIT_FAILURE;
      }
    }
    const table = join(outDir, "group_volumes.tsv");
    try {
      await Deno.remove(table);
    } catch { /* new */ }
    await appendVolumes(table, rows);
    progress.line(`wrote ${table} (${rows.length} rows)`);
    return 0;
  }
  const shard = opts.shard ? parseShard(opts.shard) : slurmShard(env);
  const mine = takeShard(scans, shard);
  const seg = await makeSegmenter(opts, io, progress, signal);
  try {
    await writeDerivativeMetadata(
      outDir,
      seg.options.classes === "spm" ? seg.card.spm!.classes : seg.card.classes,
      resolve(bidsDir),
    );
    const jobs = mine.map((s) => ({ input: s.path, output: bidsOutputs(outDir, s).dseg, scan: s }));
    const summary = await runBatch(jobs, async (job) => {
      const o = bidsOutputs(outDir, job.scan);
      await Deno.mkdir(dirname(o.dseg), { recursive: true });
      const r = await seg.segment(job.input);
      await writeVolume(o.dseg, r.labels, { datatype: "uint8", intentCode: 1002, descrip: "siamize dseg" });
      await writeJson(o.dsegJson, dsegSidecar(job.scan, r.models, r.provider));
      if (r.probabilities) {
        await writeVolume(o.probseg, r.probabilities, { datatype: "float32", descrip: "siamize probseg" });
        await writeJson(o.probsegJson, probsegSidecar(job.scan, r.labelTable));
      }
      progress.end(`wrote ${o.dseg}`);
    }, batchHooks(opts, progress, seg, signal));
    return reportBatch(summary, opts, io, progress);
  } finally {
    await seg.close();
  }
}

/** Runs the CLI with `argv`; returns the exit code (never calls Deno.exit). */
export async function main(argv: string[], io: Io = defaultIo, signal?: AbortSignal): Promise<number> {
  try {
    if (argv[0] === "bids") return await runBids(argv.slice(1), io, signal);
    const opts = parseCli(argv);
    if (opts.help) {
      io.out(HELP);
      return 0;
    }
    if (opts.version) {
      io.out(`siamize ${VERSION}`);
      return 0;
    }
    const progress = makeProgress(io, opts);
    if (opts.input!.startsWith("@") || await isDirectory(opts.input!)) {
      return await runFolder(opts, io, progress, signal);
    }
    if (opts.shard) throw new UsageError("--shard needs a folder or @list as input");
    await checkOutput(opts, opts.input!, opts.output!);
    const seg = await makeSegmenter(opts, io, progress, signal);
    try {
      const wall0 = performance.now();
      progress.start(opts.input!);
      const written = await segmentOne(seg, opts, opts.input!, opts.output!, progress);
      if (!opts.quiet) progress.line(`wrote ${written.join(", ")} (${fmtSeconds((performance.now() - wall0) / 1000)})`);
      return 0;
    } finally {
      await seg.close();
    }
  } catch (e) {
    if (e instanceof SiamizeError) {
      io.err(`siamize: ${e.message}`);
      return e.exitCode;
    }
    if (signal?.aborted) {
      io.err(`siamize: interrupted`);
      return 130;
    }
    io.err(`siamize: ${errorText(e)}`);
    return EXIT_FAILURE;
  }
}

/**
 * The process entry point: runs {@linkcode main} on `Deno.args` with
 * Ctrl-C / SIGTERM cleanup (temp files and locks removed, exit 130 / 143;
 * no partial output can exist, since outputs appear only by renaming
 * finished files), then exits with its code.
 */
export async function run(): Promise<never> {
  installSignalCleanup();
  Deno.exit(await main(Deno.args, defaultIo));
}

if (import.meta.main) await run();
