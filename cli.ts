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
// First: may re-execute the command with glibc's allocator tuned, before any other module runs.
import "./lib/cli/_boot.ts";
import { resolve } from "./lib/core/_std.ts";
import { type CliOptions, HELP, parseCli } from "./lib/cli/args.ts";
import {
  type BatchOptions,
  batchOutput,
  type BatchSummary,
  checkBatchCollisions,
  isScan,
  listInputs,
  parseShard,
  runBatch,
  slurmShard,
  summaryLine,
  takeShard,
} from "./lib/run/batch.ts";
import {
  checkOutputCollisions,
  EXIT_NO_MATCH,
  findBidsScans,
  readDatasetDescription,
  writeDerivativeMetadata,
} from "./lib/bids/bids.ts";
import { checkOutputPlacement } from "./lib/bids/placement.ts";
import {
  bidsGroup,
  type BidsJob,
  bidsJobs,
  checkPositionals,
  expandLabels,
  splitBidsArgs,
  writeBidsResult,
} from "./lib/cli/bids_app.ts";
import { progressPrinter } from "./lib/cards/download.ts";
import { EXIT_FAILURE, SiamizeError, UsageError } from "./lib/core/errors.ts";
import { errorText, exists, installSignalCleanup } from "./lib/core/fsutil.ts";
import { formatOf } from "./lib/io/read.ts";
import { dicomInfoOf, parseSeriesPath, primeSeries, readDicom, seriesPath } from "./lib/io/dicom.ts";
import { isDicomFileInput, isDicomFolder } from "./lib/io/dicom_source.ts";
import { resolveCard, SIAM_V03 } from "./lib/cards/shipped.ts";
import { cardsTable, folderChannelInputs, promptCardsTable } from "./lib/cli/cards.ts";
import { splitChannels } from "./lib/run/channels.ts";
import { plannedOutputs, stageOutputs, tpmPath } from "./lib/outputs/outputs.ts";
import { OutputSet } from "./lib/core/staged.ts";
import { ProgressReporter } from "./lib/cli/progress.ts";
import { doctorText } from "./lib/cli/doctor.ts";
import { buildReport, formatPeakRss, peakRss, VERSION } from "./lib/run/report.ts";
import { Segmenter, STAGE_TEXT } from "./lib/run/segment.ts";
import { ensureWritableFiles, ensureWritableFolder, removeCreatedFolders } from "./lib/run/preflight.ts";
import { checkVolumesTable, volumeColumns } from "./lib/outputs/volumes.ts";
import { makePlan } from "./lib/run/plan.ts";
import { enterUserFolder } from "./lib/cli/user_folder.ts";
import { runPrompt } from "./lib/cli/prompt.ts";
import { runView } from "./lib/cli/view.ts";
import { runWeb } from "./lib/cli/web.ts";
import { mallocPeakScale } from "./lib/cli/malloc_tuning.ts";

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

/** Checks the outputs of one job can be written (folders writable, nothing overwritten unasked) before any work. */
async function checkOutput(opts: CliOptions, input: string, output: string): Promise<void> {
  const out = resolve(output);
  const planned = plannedOutputs(out, {
    tpmOut: opts.tpmOut && resolve(opts.tpmOut),
    sidecar: !opts.noSidecar,
    format: opts.format,
    qc: opts.qc,
  });
  if (resolve(input) === out) throw new UsageError(`output ${output} is the input`);
  if (opts.tpmOut) checkTpmOut(opts.tpmOut, input, out);
  if (opts.qc && !opts.qc.toLowerCase().endsWith(".png")) {
    throw new UsageError(`--qc ${opts.qc}: the picture must be a .png file`);
  }
  if (opts.vol && !/\.(csv|tsv|json)$/i.test(opts.vol)) {
    throw new UsageError(`--vol ${opts.vol}: use a .csv, .tsv or .json file`);
  }
  for (const p of splitChannels(input)) {
    if (resolve(p) === out) throw new UsageError(`output ${output} is the input`);
    try {
      await Deno.stat(parseSeriesPath(p)?.dir ?? p);
    } catch (e) {
      throw new SiamizeError(`${p}: cannot read (${errorText(e)})`, 66);
    }
  }
  await ensureWritableFiles([output, opts.tpmOut, opts.vol, opts.qc, opts.report]);
  for (const p of [...planned, opts.report, opts.vol]) {
    if (p && await isDirectory(p)) throw new SiamizeError(`${p}: is a folder, cannot be replaced by an output`, 73);
  }
  if (!opts.overwrite) {
    for (const p of [...planned, ...(opts.report ? [opts.report] : [])]) {
      if (await exists(p)) throw new SiamizeError(`${p}: already exists (use --overwrite to replace it)`, 73);
    }
  }
  await checkVolumes(opts);
}

/** `--vol`: the table must be missing, or readable with the columns this run writes (before any work). */
async function checkVolumes(opts: CliOptions): Promise<void> {
  if (!opts.vol) return;
  const card = opts.card ? await resolveCard(opts.card) : undefined;
  await checkVolumesTable(opts.vol, volumeColumns(makePlan({ card, classes: opts.classes }).labelTable));
}

/** `--tpm-out`: neither the input nor `-o`. */
function checkTpmOut(tpmOut: string, input: string, out: string): void {
  const p = resolve(tpmOut);
  if (p === resolve(input) || p === out) throw new UsageError(`--tpm-out ${tpmOut} is the input or the -o file`);
}

async function makeSegmenter(
  opts: CliOptions,
  io: Io,
  progress: ProgressReporter,
  signal?: AbortSignal,
  batch = true,
): Promise<Segmenter> {
  const info = (l: string) => progress.line(l);
  const seg = new Segmenter({
    card: opts.card ? await resolveCard(opts.card) : undefined,
    models: opts.models,
    compute: opts.compute,
    gpu: opts.gpu,
    threads: opts.threads,
    patch: opts.patch,
    spacing: opts.spacing,
    upsample: opts.upsample,
    classes: opts.classes,
    tpm: opts.tpm || opts.tpmOut !== undefined,
    tpmT: opts.tpmT,
    lowmem: opts.lowmem,
    step: opts.step,
    tta: opts.tta,
    // A batch keeps every fold's session for the next input; one input releases each after its tiles.
    keepSessions: opts.keepSessions ?? batch,
    noArena: opts.lowmem || opts.noArena ? true : undefined,
    // An allocator tuned to keep every freed block peaks higher on a full-size tile than the card's estimate.
    peakScale: mallocPeakScale(),
    log: info,
    // `-c auto` falling back to the CPU where no GPU provider is installed is news only to someone asking.
    detail: opts.verbose ? info : () => {},
    checkPlacement: opts.verbose,
    onStage: opts.verbose ? (s) => info(STAGE_TEXT[s]) : undefined,
    onDownload: opts.quiet
      ? undefined
      : progressPrinter((t) => Deno.stderr.writeSync(new TextEncoder().encode(t)), io.isTty),
    signal,
    onProgress: (p) => progress.tile(p.fold, p.folds, p.tile, p.tiles),
  });
  if (opts.verbose) {
    info(`models ${seg.models.map((m) => m.path).join(", ")}`);
    info(
      `${
        seg.card.inference?.mode === "whole" ? "whole volume" : `patch ${seg.patch.join("x")}`
      }, threads ${seg.threads}${seg.plan.step !== undefined ? `, step ${seg.plan.step}` : ""}${
        seg.plan.tta ? ", tta (8 passes per tile)" : ""
      }`,
    );
    info(
      seg.keepSessions
        ? `sessions: every fold's kept loaded${
          batch ? " for the whole batch" : ""
        } (--release-sessions to release each after its tiles)`
        : `sessions: each fold's released after its tiles${batch ? "" : " (one input)"} (--keep-sessions to keep them)`,
    );
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
  batch = false,
): Promise<string[]> {
  const verbose = (l: string) => opts.verbose && progress.line(l);
  const wall0 = performance.now();
  const r = await seg.segment(input);
  const g = r.geometry;
  verbose(`crop box (z,y,x) ${g.box.map(([a, b]) => `${a}:${b}`).join(", ")} -> ${g.cropped.join("x")}`);
  verbose(`spacing (z,y,x) ${g.spacing.map((s) => s.toFixed(3)).join(", ")} -> resampled ${g.resampled.join("x")}`);
  if (g.nonFinite) verbose(`${g.nonFinite} non-finite voxels (NaN/Inf) treated as 0`);
  verbose(
    `provider ${r.provider}${r.adapter ? ` on ${r.adapter}` : ""}, ${r.tiles} tiles x ${r.models.length} fold(s)`,
  );
  verbose(
    `tile adds: ${
      r.adds.kernel === "wasm-simd" ? "WebAssembly SIMD" : "JavaScript"
    } kernels on ${r.adds.threads} thread(s)`,
  );
  verbose("writing outputs");
  const tw = performance.now();
  // Every output of the run is staged, then all are renamed into place together (lib/core/staged.ts).
  const set = new OutputSet({ overwrite: opts.overwrite });
  try {
    await stageOutputs(set, output, r, {
      tpmOnly: opts.tpm && !batch,
      tpmOut: batch && opts.tpm ? tpmPath(output) : opts.tpmOut,
      format: opts.format,
      shuffle: opts.shuffle,
      endian: opts.bniiEndian,
      sidecar: !opts.noSidecar,
      vol: opts.vol,
      qc: opts.qc,
      inputName: input,
      card: seg.card,
    });
    const staged = set.paths;
    const writeSeconds = (performance.now() - tw) / 1000;
    const wall = (performance.now() - wall0) / 1000;
    const t = r.timings;
    verbose(
      `times: read ${fmtSeconds(t.read)}, load ${fmtSeconds(t.load)}, preprocess ${fmtSeconds(t.preprocess)}, ` +
        `inference ${fmtSeconds(t.inference)}, accumulate ${fmtSeconds(t.accumulate)}, postprocess ${
          fmtSeconds(t.postprocess)
        }, write ${fmtSeconds(writeSeconds)}, ` +
        `total ${fmtSeconds(wall)}; peak RSS ${formatPeakRss(peakRss())}`,
    );
    if (opts.report) {
      const rep = buildReport(input, staged, r, writeSeconds, wall, dicomInfoOf(input));
      await set.add(opts.report, new TextEncoder().encode(JSON.stringify(rep, null, 2) + "\n"));
    }
    const written = (await set.commit()).filter((p) => p !== opts.report);
    if (opts.report) verbose(`report ${opts.report}`);
    return written;
  } finally {
    await set.discard();
  }
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

/**
 * Prints what a batch skipped and failed and its summary line; the exit code.
 * `incomplete` (subjects missing a channel, already reported) count as skipped.
 */
function reportBatch(
  summary: BatchSummary,
  opts: CliOptions,
  io: Io,
  progress: ProgressReporter,
  incomplete: string[] = [],
): number {
  for (const s of summary.skipped) progress.line(`skipped ${s} (output exists; --overwrite to redo)`);
  for (const f of summary.failed) io.err(`siamize: ${f.error}`);
  const counted = { ...summary, skipped: [...summary.skipped, ...incomplete] };
  if (!opts.quiet || summary.failed.length) io.err(`siamize: ${summaryLine(counted)}`);
  return summary.failed.length ? EXIT_FAILURE : 0;
}

/**
 * Whether `-i` is DICOM input: a folder of DICOM files (holding no
 * NIfTI/JNIfTI scans, which take precedence), or a file without a volume
 * extension that is DICOM by content (a zip archive, a DICOM file).
 */
async function isDicomOnlyInput(path: string): Promise<boolean> {
  if (!(await isDirectory(path))) return !formatOf(path) && await isDicomFileInput(path);
  for await (const e of Deno.readDir(path)) if (e.isFile && isScan(e.name)) return false;
  return await isDicomFolder(path);
}

/**
 * The series of a DICOM folder as inputs (series paths, named from series
 * number and description), `--series N` picking one; dcm2niix's log goes
 * to `-v`.
 */
async function dicomSeriesInputs(opts: CliOptions, progress: ProgressReporter): Promise<string[]> {
  const dir = opts.input!;
  const log = (l: string) => opts.verbose && progress.line(`dcm2niix: ${l}`);
  // listing: gaps are allowed here so that a bad series fails only itself when it is read
  const all = await readDicom(dir, { allowGaps: true, log, series: opts.series });
  if (all.length === 0) {
    throw new SiamizeError(`-i ${dir}: no DICOM series ${opts.series} (--series)`, 66);
  }
  const gaps = opts.dicomAllowGaps === true;
  for (const s of all) {
    if (s.equidistant && gaps) {
      progress.line(
        `series ${s.seriesNumber}: dcm2niix's equidistant volume (${[...s.gapSlices, ...s.warnings].join("; ")})`,
      );
    }
  }
  const paths = all.map((s) => seriesPath(dir, s, gaps));
  if (all.length === 1) primeSeries(paths[0], all[0]); // a single run reads it without converting again
  return paths;
}

async function runFolder(
  opts: CliOptions,
  io: Io,
  progress: ProgressReporter,
  signal?: AbortSignal,
  preset?: string[],
): Promise<number> {
  if (opts.qc) throw new UsageError("--qc names one picture: use it with a single input");
  if (opts.report) throw new UsageError("--report names one file: use it with a single input");
  if (opts.tpmOut) {
    throw new UsageError("--tpm-out names one file: in a batch, --tpm writes <stem>_tpm beside each output");
  }
  if (formatOf(opts.output!)) {
    throw new UsageError(`-i ${opts.input} is a batch: -o must name an output folder, not the file ${opts.output}`);
  }
  let inputs = preset ?? await listInputs(opts.input!);
  // Multi-channel cards: one input per subject, its channels found by suffix.
  const grouped = opts.card ? folderChannelInputs(inputs, await resolveCard(opts.card)) : undefined;
  if (grouped) {
    for (const line of grouped.problems) progress.line(`skipped ${line}`);
    inputs = grouped.inputs.map((g) => g.input);
  }
  const shard = opts.shard ? parseShard(opts.shard) : slurmShard(env);
  const mine = takeShard(inputs, shard);
  const stem = (input: string) => grouped?.inputs.find((g) => g.input === input)?.stem;
  const outputOf = (input: string) =>
    batchOutput(stem(input) ? `${stem(input)}.nii.gz` : input, opts.output!, opts.format);
  // Every input of the batch (all shards): two that would write one output are refused before any work.
  checkBatchCollisions(inputs.map((input) => ({ input, output: outputOf(input) })));
  await ensureWritableFolder(opts.output!, `-o ${opts.output}`);
  if (opts.vol) await ensureWritableFiles([opts.vol]);
  await checkVolumes(opts);
  if (shard) progress.line(`shard ${shard.index}/${shard.count}: ${mine.length} of ${inputs.length} inputs`);
  const seg = await makeSegmenter(opts, io, progress, signal);
  try {
    const jobs = mine.map((input) => ({ input, output: outputOf(input) }));
    const summary = await runBatch(jobs, async (job) => {
      if (opts.overwrite) await checkOutput({ ...opts, overwrite: true }, job.input, job.output);
      // A batch with --tpm writes each input's labels and its map (<stem>_tpm) beside them.
      const written = await segmentOne(seg, { ...opts, overwrite: true }, job.input, job.output, progress, true);
      progress.end(`wrote ${written.join(", ")}`);
    }, batchHooks(opts, progress, seg, signal));
    return reportBatch(summary, opts, io, progress, grouped?.problems ?? []);
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

/** `siamize bids BIDS_DIR OUT_DIR participant|group [options]` (BIDS Apps conventions; lib/cli/bids_app.ts). */
async function runBids(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const a = splitBidsArgs(argv);
  const opts = parseCli(a.rest, { requireIO: false });
  if (opts.help) {
    io.out(HELP);
    return 0;
  }
  if (opts.version) {
    io.out(`siamize ${VERSION}`);
    return 0;
  }
  const [bidsDir, outDir, level] = checkPositionals(a.positionals);
  if (opts.upsample) throw new UsageError("--upsample: BIDS outputs stay on the source scan's grid");
  const participants = await expandLabels(a.participants, "--participant-label");
  const sessions = await expandLabels(a.sessions, "--session-label");
  const progress = makeProgress(io, opts);
  const scans = await findBidsScans(bidsDir, {
    participants: participants.length ? participants : undefined,
    sessions: sessions.length ? sessions : undefined,
    suffixes: a.suffixes,
    skipValidation: a.skipValidator,
  });
  if (!scans.length) {
    io.err(`siamize: no ${a.suffixes.join("/")} scans in ${bidsDir} match the filters`);
    return EXIT_NO_MATCH;
  }
  checkOutputPlacement(bidsDir, outDir);
  checkOutputCollisions(outDir, scans);
  const card = opts.card ? await resolveCard(opts.card) : SIAM_V03;
  if (level === "group") {
    const g = await bidsGroup(outDir, scans, { card, spm: opts.classes === "spm" });
    progress.line(`wrote ${g.table} (${g.rows} rows)`);
    return 0;
  }
  const shard = opts.shard ? parseShard(opts.shard) : slurmShard(env);
  const mine = takeShard(scans, shard);
  // The segmenter returns labels, and probabilities with --tpm; writeBidsResult writes them
  // explicitly as _dseg and _probseg (never through the single-file output path).
  const seg = await makeSegmenter(opts, io, progress, signal);
  const model = `${seg.card.name} v${seg.card.version}`;
  try {
    await writeDerivativeMetadata(outDir, seg.plan.labelTable, {
      bidsDir,
      source: await readDatasetDescription(bidsDir, { skipValidation: true }),
      model,
    });
    const jobs = bidsJobs(outDir, mine, opts.tpm);
    const summary = await runBatch(jobs, async (job) => {
      const r = await seg.segment(job.input);
      const written = await writeBidsResult(job, r, { overwrite: opts.overwrite, model });
      progress.end(`wrote ${written.join(", ")}`);
    }, batchHooks(opts, progress, seg, signal) as BatchOptions<BidsJob>);
    return reportBatch(summary, opts, io, progress);
  } finally {
    await seg.close();
  }
}

/**
 * Runs the CLI with `argv`; returns the exit code (never calls Deno.exit).
 * A run that fails leaves no output folder it created behind.
 */
export async function main(argv: string[], io: Io = defaultIo, signal?: AbortSignal): Promise<number> {
  const code = await mainInner(argv, io, signal);
  if (code !== 0) await removeCreatedFolders();
  return code;
}

async function mainInner(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  try {
    if (argv[0] === "bids") return await runBids(argv.slice(1), io, signal);
    if (argv[0] === "prompt") return await runPrompt(argv.slice(1), io);
    if (argv[0] === "view") return await runView(argv.slice(1), io, signal);
    if (argv[0] === "web") return await runWeb(argv.slice(1), io, signal);
    if (argv[0] === "doctor") return (await doctorText()).forEach((l) => io.out(l)), 0;
    if (argv[0] === "cards") {
      io.out(cardsTable());
      io.out("");
      io.out(promptCardsTable());
      return 0;
    }
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
    // A bad card (weights names, URLs) is refused before anything is created or downloaded.
    if (opts.card) await resolveCard(opts.card);
    let dicomInputs: string[] | undefined;
    if (!opts.input!.startsWith("@") && await isDicomOnlyInput(opts.input!)) {
      dicomInputs = await dicomSeriesInputs(opts, progress);
      if (dicomInputs.length === 1) opts.input = dicomInputs[0];
      else return await runFolder(opts, io, progress, signal, dicomInputs);
    } else if (opts.series !== undefined) {
      throw new UsageError("--series picks a series of DICOM input (a folder, a zip or a DICOM file)");
    }
    if (!dicomInputs && (opts.input!.startsWith("@") || await isDirectory(opts.input!))) {
      return await runFolder(opts, io, progress, signal);
    }
    if (opts.shard) throw new UsageError("--shard needs a folder or @list as input");
    if (!formatOf(opts.input!) && !parseSeriesPath(opts.input!) && !(await exists(opts.input!))) {
      throw new SiamizeError(`-i ${opts.input}: no such file or folder`, 66);
    }
    await checkOutput(opts, opts.input!, opts.output!);
    const seg = await makeSegmenter(opts, io, progress, signal, false);
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
  await installSignalCleanup();
  enterUserFolder();
  Deno.exit(await main(Deno.args, defaultIo));
}

if (import.meta.main) await run();
