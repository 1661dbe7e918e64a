/**
 * Fixed runs whose outputs are recorded in `tests/golden/recorded/`
 * (`deno run -A scripts/record_runs.ts --write`) and compared by
 * `tests/run/recorded_test.ts`: labels voxel for voxel, probabilities on a
 * deterministic sample within 1e-5, per-class sums within 1e-5 relative,
 * dims and affine exactly.
 *
 * Only the public API (`mod.ts`) runs the cases, so that the records stay
 * valid while the library's files move. The two generated models come from
 * the repository's seeded builders (`scripts/make_model.ts`).
 *
 * @module
 */
import {
  type Affine,
  loadCard,
  makeVolume,
  type ModelCard,
  segment,
  type SegmentOptions,
  type SegmentResult,
  shippedCard,
  type Volume,
} from "../../mod.ts";
import { makeModel } from "../../scripts/builders/make_model.ts";
import { unzlibSync, zlibSync } from "fflate";

/** A path inside the repository. */
export function repoPath(rel: string): string {
  return decodeURIComponent(new URL(`../../${rel}`, import.meta.url).pathname);
}

/** Folder of the records. */
export const RECORD_DIR = repoPath("tests/golden/recorded");
/** The analytic SIAM stand-in network. */
export const ANALYTIC = repoPath("tests/golden/analytic.onnx");
/** The synthetic head phantom. */
export const PHANTOM = repoPath("tests/golden/phantom.nii.gz");
/**
 * The SIAM card as the tests use it with analytic.onnx (`models/testing/analytic.json`:
 * SIAM v0.3's I/O contract, classes, SPM merge and preprocessing, any patch size).
 */
export const SIAM_TEST_CARD = await loadCard(repoPath("models/testing/analytic.json"));
const CT = repoPath("tests/golden/monai/ct_small.nii.gz");
const CT_MODEL = repoPath("tests/golden/monai/segresnet_tiny_seed0.onnx");

/** Seeds of the generated models. */
export const TINY_SEED = 7;
export const HNOSEG_SEED = 4;

/** Generated models, written into `dir` (byte-deterministic: seeded builders). */
export interface Models {
  /** Tiny ResEnc-UNet (18 classes, 1 channel) for the SIAM card. */
  tiny: string;
  /** HNOSeg-XS (4 channels, 4 classes). */
  hnoseg: string;
}

/** Writes the generated models into `dir`. */
export async function makeModels(dir: string): Promise<Models> {
  const tiny = `${dir}/tiny_seed${TINY_SEED}.onnx`;
  const hnoseg = `${dir}/hnoseg_xs_seed${HNOSEG_SEED}.onnx`;
  await makeModel("tiny", tiny, false, TINY_SEED);
  await makeModel("hnoseg-xs", hnoseg, false, HNOSEG_SEED);
  return { tiny, hnoseg };
}

/** A synthetic 4-channel "BraTS" case (x, y, z, channel), deterministic, with a lesion. */
export function fourChannelVolume(): Volume {
  const [nx, ny, nz] = [40, 36, 28];
  const n = nx * ny * nz;
  const data = new Float32Array(4 * n);
  for (let c = 0; c < 4; c++) {
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const r = Math.hypot((x - 20) / 17, (y - 18) / 15, (z - 14) / 12);
          const lesion = Math.hypot(x - 25, y - 15, z - 13) < 6;
          const core = Math.hypot(x - 25, y - 15, z - 13) < 3;
          if (r >= 1) continue;
          data[c * n + x + nx * (y + ny * z)] = 100 + 20 * c + (lesion ? 60 * (c - 1.5) : 0) +
            (core ? 40 * ((c * 5) % 3 - 1) : 0) + ((x * 7 + y * 3 + z * 5 + c) % 11);
        }
      }
    }
  }
  const affine = [[-1, 0, 0, 20], [0, -1, 0, 18], [0, 0, 1, -14], [0, 0, 0, 1]];
  return makeVolume(data, [nx, ny, nz, 4], affine);
}

/** One recorded run. */
export interface RunCase {
  /** File stem of the record. */
  name: string;
  /** What it exercises. */
  what: string;
  /** The input (path or volume). */
  input: () => string | Volume;
  /** The options given to `segment()`. */
  options: (m: Models) => SegmentOptions;
}

const ct = (): ModelCard => shippedCard("monai-wholebody-ct")!;
const brats = (): ModelCard => shippedCard("hnoseg-xs-brats")!;
const siam = (extra: SegmentOptions = {}) => (): SegmentOptions => ({
  card: SIAM_TEST_CARD,
  models: ANALYTIC,
  patch: [64, 64, 48],
  tpm: true,
  ...extra,
});

/** The recorded cases, all on data inside the repository. */
export const CASES: RunCase[] = [
  {
    name: "siam_tpm",
    what: "SIAM test card (models/testing/analytic.json), analytic.onnx, phantom, patch 64x64x48, probabilities",
    input: () => PHANTOM,
    options: siam(),
  },
  {
    name: "siam_spm_tpm",
    what: "as siam_tpm with classes spm (SPM12 merge)",
    input: () => PHANTOM,
    options: siam({ classes: "spm" }),
  },
  {
    name: "siam_upsample_tpm",
    what: "as siam_tpm with upsample (output on the 0.75 mm working grid)",
    input: () => PHANTOM,
    options: siam({ upsample: true }),
  },
  {
    name: "siam_ensemble_tpm",
    what: `as siam_tpm, ensemble of analytic.onnx and the tiny preset (seed ${TINY_SEED})`,
    input: () => PHANTOM,
    options: (m) => ({ ...siam()(), models: [ANALYTIC, m.tiny] }),
  },
  {
    name: "ct_golden_tpm",
    what: "monai-wholebody-ct card, segresnet_tiny_seed0.onnx, ct_small.nii.gz, card patch and spacing, probabilities",
    input: () => CT,
    options: () => ({ card: ct(), models: CT_MODEL, tpm: true }),
  },
  {
    name: "ct_lowres",
    what: 'as ct_golden_tpm at spacing "lowres" (3 mm), labels only',
    input: () => CT,
    options: () => ({ card: ct(), models: CT_MODEL, spacing: "lowres" }),
  },
  {
    name: "hnoseg_xs_tpm",
    what:
      `hnoseg-xs-brats card, hnoseg-xs preset (seed ${HNOSEG_SEED}), synthetic 4-channel 40x36x28 volume, probabilities`,
    input: fourChannelVolume,
    options: (m) => ({ card: brats(), models: m.hnoseg, tpm: true }),
  },
];

/** Fixed run settings shared by every case (CPU, 2 threads). */
export const FIXED: SegmentOptions = { compute: "cpu", threads: 2, download: false };

/** Runs one case through the public API. */
export function runCase(c: RunCase, m: Models): Promise<SegmentResult> {
  return segment(c.input(), { ...FIXED, ...c.options(m) });
}

/** What is stored per case. */
export interface Record {
  name: string;
  what: string;
  labels: {
    dims: number[];
    affine: Affine;
    /** zlib of the raw uint8 labels (x fastest), base64. */
    zlib: string;
  };
  probabilities?: {
    dims: number[];
    affine: Affine;
    /** Every `stride`-th voxel index from 0, all classes (class-major), float32 little-endian, base64. */
    stride: number;
    samples: string;
    /** Per-class sums over all voxels, float64. */
    sums: number[];
  };
  /** sha256 of the generated models the case used (a builder change shows here, not as a pipeline change). */
  models?: { [file: string]: string };
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Sampled probability values per record at most (keeps the folder small). */
const MAX_SAMPLES = 8192;

/** The sampling stride for `voxels` x `classes`: 97, or more for large maps. */
export function sampleStride(voxels: number, classes: number): number {
  return Math.max(97, Math.ceil((voxels * classes) / MAX_SAMPLES));
}

function sample(p: Volume, stride: number): { values: Float32Array; sums: number[] } {
  const classes = p.dims[3];
  const n = p.dims[0] * p.dims[1] * p.dims[2];
  const count = Math.ceil(n / stride);
  const values = new Float32Array(count * classes);
  const sums: number[] = [];
  for (let c = 0; c < classes; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += p.data[c * n + i];
    sums.push(s);
    for (let k = 0; k < count; k++) values[c * count + k] = p.data[c * n + k * stride];
  }
  return { values, sums };
}

async function sha256(path: string): Promise<string> {
  const h = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** sha256 of the generated models a case uses. */
export async function modelHashes(c: RunCase, m: Models): Promise<{ [file: string]: string } | undefined> {
  const used = [c.options(m).models].flat().filter((p): p is string => !!p && (p === m.tiny || p === m.hnoseg));
  if (!used.length) return undefined;
  const out: { [file: string]: string } = {};
  for (const p of used) out[p.slice(p.lastIndexOf("/") + 1)] = await sha256(p);
  return out;
}

/** The record of a result. */
export function makeRecord(c: RunCase, r: SegmentResult, models?: { [file: string]: string }): Record {
  const labels = Uint8Array.from(r.labels.data);
  const rec: Record = {
    name: c.name,
    what: c.what,
    labels: { dims: [...r.labels.dims], affine: r.labels.affine, zlib: toBase64(zlibSync(labels, { level: 9 })) },
  };
  const p = r.probabilities;
  if (p) {
    const n = p.dims[0] * p.dims[1] * p.dims[2];
    const stride = sampleStride(n, p.dims[3]);
    const { values, sums } = sample(p, stride);
    rec.probabilities = {
      dims: [...p.dims],
      affine: p.affine,
      stride,
      samples: toBase64(new Uint8Array(values.buffer)),
      sums,
    };
  }
  if (models) rec.models = models;
  return rec;
}

/** Path of a case's record. */
export function recordPath(name: string): string {
  return `${RECORD_DIR}/${name}.json`;
}

/** Reads a case's record. */
export async function readRecord(name: string): Promise<Record> {
  return JSON.parse(await Deno.readTextFile(recordPath(name)));
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Tolerances. */
export const PROB_ABS = 1e-5;
export const SUM_REL = 1e-5;

/**
 * Differences between a result and its record, one line each (empty when
 * they match): labels voxel for voxel (count of differing voxels),
 * probabilities sampled within {@linkcode PROB_ABS}, per-class sums within
 * {@linkcode SUM_REL} relative, dims and affines exactly.
 */
export function compareRecord(rec: Record, r: SegmentResult, models?: { [file: string]: string }): string[] {
  const out: string[] = [];
  const tag = rec.name;
  if (rec.models && !same(rec.models, models)) {
    out.push(`${tag}: generated models differ from the recorded ones (${JSON.stringify(models)}); the builder changed`);
  }
  if (!same(rec.labels.dims, r.labels.dims)) out.push(`${tag}: label dims ${r.labels.dims} != ${rec.labels.dims}`);
  if (!same(rec.labels.affine, r.labels.affine)) {
    out.push(`${tag}: label affine ${JSON.stringify(r.labels.affine)} != ${JSON.stringify(rec.labels.affine)}`);
  }
  const want = unzlibSync(fromBase64(rec.labels.zlib));
  const got = r.labels.data;
  if (want.length !== got.length) {
    out.push(`${tag}: ${got.length} label voxels, recorded ${want.length}`);
  } else {
    let diff = 0, first = -1;
    for (let i = 0; i < want.length; i++) {
      if (want[i] !== got[i]) {
        diff++;
        if (first < 0) first = i;
      }
    }
    if (diff) {
      out.push(
        `${tag}: ${diff} of ${want.length} label voxels differ (first at index ${first}: ${got[first]}, recorded ${
          want[first]
        })`,
      );
    }
  }
  const rp = rec.probabilities, p = r.probabilities;
  if (rp && !p) out.push(`${tag}: no probabilities, recorded ones`);
  if (!rp && p) out.push(`${tag}: probabilities, none recorded`);
  if (rp && p) {
    if (!same(rp.dims, p.dims)) out.push(`${tag}: probability dims ${p.dims} != ${rp.dims}`);
    if (!same(rp.affine, p.affine)) {
      out.push(`${tag}: probability affine ${JSON.stringify(p.affine)} != ${JSON.stringify(rp.affine)}`);
    }
    if (same(rp.dims, p.dims)) {
      const b = fromBase64(rp.samples);
      const want = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      const { values, sums } = sample(p, rp.stride);
      let worst = 0, bad = 0;
      for (let k = 0; k < want.length; k++) {
        const d = Math.abs(values[k] - want[k]);
        if (!(d <= PROB_ABS)) bad++;
        if (!(d <= worst)) worst = d;
      }
      if (bad) {
        out.push(`${tag}: ${bad} of ${want.length} sampled probabilities differ by > ${PROB_ABS} (max ${worst})`);
      }
      sums.forEach((s, c) => {
        const w = rp.sums[c];
        if (!(Math.abs(s - w) <= SUM_REL * Math.max(Math.abs(w), 1e-3))) {
          out.push(`${tag}: class ${c} probability sum ${s}, recorded ${w}`);
        }
      });
    }
  }
  return out;
}
