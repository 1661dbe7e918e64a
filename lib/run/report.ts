/**
 * Machine-readable run records (`--report run.json`) and peak memory.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import * as ort from "../engine/_onnxruntime.ts";
import process from "node:process";
import type { SegmentResult } from "./segment.ts";
import type { DicomInfo } from "../io/dicom.ts";

/**
 * This package's version (from deno.json).
 *
 * @example
 * ```ts
 * import { VERSION } from "./report.ts";
 *
 * console.log(`siamize ${VERSION}`);
 * ```
 */
export const VERSION: string = denoJson.version;

/**
 * Peak resident set size of this process in bytes, or undefined when it
 * cannot be known (never the current RSS in its place). Uses getrusage's
 * `ru_maxrss` (`node:process` `resourceUsage().maxRSS`, in KiB, no
 * permission needed), else Linux's VmHWM from /proc/self/status (which Deno
 * opens only with `--allow-all`).
 */
export function peakRss(): number | undefined {
  try {
    const kib = process.resourceUsage().maxRSS;
    if (Number.isFinite(kib) && kib > 0) return kib * 1024;
  } catch { /* not available */ }
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = status.match(/^VmHWM:\s+(\d+)\s+kB/m);
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux, or no permission */ }
  return undefined;
}

/** Peak RSS for people: `"1.23 GiB"`, or `"unknown"`. */
export function formatPeakRss(bytes: number | undefined): string {
  return bytes === undefined ? "unknown" : `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** The JSON record written by `--report`. */
export interface RunReport {
  tool: { name: string; version: string; deno: string; onnxruntime: string };
  input: string;
  /** For a DICOM input: the series (number, description, UID), its converter and version, and whether gaps were filled. */
  dicom?: {
    seriesNumber: number | null;
    description: string | null;
    uid: string | null;
    converter: string;
    equidistant: boolean;
    warnings: string[];
    /** The slices that break the grid (instance numbers, positions), for a series dcm2niix warned about. */
    gapSlices: string[];
  };
  outputs: string[];
  /** The model files that ran: path, file name and SHA-256. */
  models: SegmentResult["modelFiles"];
  provider: string;
  /** The GPU adapter (WebGPU), when known. */
  adapter?: string;
  threads: number;
  patch: number[];
  tiles: number;
  /** Tile step as a fraction of the patch (`--step`); null for whole-volume cards. */
  step: number | null;
  /** Test-time mirroring (`--tta`: 8 network passes per tile). */
  tta: boolean;
  /** How the weighted tiles were added: `kernel` (`wasm-simd` or `javascript`) and `threads`. */
  adds: SegmentResult["adds"];
  geometry: SegmentResult["geometry"];
  /** Seconds per stage: read, load, preprocess, inference (sum of ORT runs), accumulate, postprocess, write, total. */
  seconds: Record<string, number>;
  /** Peak resident set size in bytes; null when it cannot be measured. */
  peakRssBytes: number | null;
}

/** Builds the record of one run. */
export function buildReport(
  input: string,
  outputs: string[],
  r: SegmentResult,
  writeSeconds: number,
  wallSeconds: number,
  dicom?: DicomInfo,
): RunReport {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    tool: {
      name: "siamize",
      version: VERSION,
      deno: Deno.version.deno,
      onnxruntime: ort.env.versions?.common ?? "unknown",
    },
    input,
    ...(dicom && {
      dicom: {
        seriesNumber: dicom.seriesNumber ?? null,
        description: dicom.description ?? null,
        uid: dicom.uid ?? null,
        converter: dicom.converter,
        equidistant: dicom.equidistant,
        warnings: dicom.warnings,
        gapSlices: dicom.gapSlices,
      },
    }),
    outputs,
    models: r.modelFiles,
    provider: r.provider,
    adapter: r.adapter,
    threads: r.threads,
    patch: r.patch,
    tiles: r.tiles,
    step: r.step ?? null,
    tta: r.tta,
    adds: r.adds,
    geometry: r.geometry,
    seconds: {
      read: round(r.timings.read),
      load: round(r.timings.load),
      preprocess: round(r.timings.preprocess),
      inference: round(r.timings.inference),
      accumulate: round(r.timings.accumulate),
      postprocess: round(r.timings.postprocess),
      write: round(writeSeconds),
      total: round(wallSeconds),
    },
    peakRssBytes: peakRss() ?? null,
  };
}
