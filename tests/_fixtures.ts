/**
 * Shared test fixtures: golden-vector paths, an independent NIfTI byte
 * builder (so the reader is not only tested against our own writer), and
 * an optional bridge to Debian's nibabel for reference values.
 *
 * @module
 */
import { fromFileUrl, join } from "../lib/core/_std.ts";
import { makeVolume } from "../lib/io/volume.ts";
import { writeNifti } from "../lib/io/nifti.ts";

/** Repository root. */
export const ROOT: string = fromFileUrl(new URL("..", import.meta.url));
/** The golden reference vectors, kept in the repository (`tests/golden/README.md`). */
export const GOLDEN: string = join(ROOT, "tests", "golden");
/** Colin27 T1 from Debian's mricron-data, when installed. */
export const CH2 = "/usr/share/mricron/templates/ch2.nii.gz";

/** Whether a file exists. */
export function haveFile(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A fresh temp directory, removed by the returned disposer. */
export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "siamize-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Spec for {@linkcode craftNifti}. */
export interface CraftSpec {
  version?: 1 | 2;
  littleEndian?: boolean;
  /** NIfTI datatype code. */
  datatype: number;
  /** dim[1..] sizes. */
  dims: number[];
  pixdim?: number[];
  slope?: number;
  inter?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: [number, number, number, number, number, number];
  qfac?: number;
  srow?: number[][];
  /** Raw stored values (before scaling), x fastest. */
  values: ArrayLike<number>;
  voxOffset?: number;
}

const SIZES: Record<number, number> = {
  2: 1,
  256: 1,
  4: 2,
  512: 2,
  8: 4,
  768: 4,
  16: 4,
  64: 8,
  1024: 8,
  1280: 8,
  128: 3,
};

/** Builds NIfTI bytes field by field, independently of lib/io/nifti.ts. */
export function craftNifti(s: CraftSpec): Uint8Array {
  const v2 = s.version === 2;
  const le = s.littleEndian ?? true;
  const off = s.voxOffset ?? (v2 ? 544 : 352);
  const nb = SIZES[s.datatype] ?? 4;
  const out = new Uint8Array(off + s.values.length * nb);
  const dv = new DataView(out.buffer);
  const dim = [s.dims.length, ...s.dims];
  while (dim.length < 8) dim.push(1);
  const pix = s.pixdim ?? [s.qfac ?? 1, 1, 1, 1, 1, 1, 1, 1];
  const q = s.quatern ?? [0, 0, 0, 0, 0, 0];
  const srow = s.srow ?? [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]];
  if (!v2) {
    dv.setInt32(0, 348, le);
    dim.forEach((d, k) => dv.setInt16(40 + 2 * k, d, le));
    dv.setInt16(70, s.datatype, le);
    dv.setInt16(72, nb * 8, le);
    pix.forEach((p, k) => dv.setFloat32(76 + 4 * k, p, le));
    dv.setFloat32(108, off, le);
    dv.setFloat32(112, s.slope ?? 0, le);
    dv.setFloat32(116, s.inter ?? 0, le);
    out[123] = 10;
    dv.setInt16(252, s.qformCode ?? 0, le);
    dv.setInt16(254, s.sformCode ?? 0, le);
    q.forEach((x, k) => dv.setFloat32(256 + 4 * k, x, le));
    srow.forEach((r, i) => r.forEach((x, k) => dv.setFloat32(280 + 16 * i + 4 * k, x, le)));
    out.set([0x6e, 0x2b, 0x31, 0], 344);
  } else {
    dv.setInt32(0, 540, le);
    out.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4);
    dv.setInt16(12, s.datatype, le);
    dv.setInt16(14, nb * 8, le);
    dim.forEach((d, k) => dv.setBigInt64(16 + 8 * k, BigInt(d), le));
    pix.forEach((p, k) => dv.setFloat64(104 + 8 * k, p, le));
    dv.setBigInt64(168, BigInt(off), le);
    dv.setFloat64(176, s.slope ?? 0, le);
    dv.setFloat64(184, s.inter ?? 0, le);
    dv.setInt32(344, s.qformCode ?? 0, le);
    dv.setInt32(348, s.sformCode ?? 0, le);
    q.forEach((x, k) => dv.setFloat64(352 + 8 * k, x, le));
    srow.forEach((r, i) => r.forEach((x, k) => dv.setFloat64(400 + 32 * i + 8 * k, x, le)));
    dv.setInt32(500, 10, le);
  }
  const put: Record<number, (o: number, x: number) => void> = {
    2: (o, x) => dv.setUint8(o, x),
    256: (o, x) => dv.setInt8(o, x),
    4: (o, x) => dv.setInt16(o, x, le),
    512: (o, x) => dv.setUint16(o, x, le),
    8: (o, x) => dv.setInt32(o, x, le),
    768: (o, x) => dv.setUint32(o, x, le),
    16: (o, x) => dv.setFloat32(o, x, le),
    64: (o, x) => dv.setFloat64(o, x, le),
    1024: (o, x) => dv.setBigInt64(o, BigInt(x), le),
    1280: (o, x) => dv.setBigUint64(o, BigInt(x), le),
  };
  const p = put[s.datatype];
  if (p) { for (let i = 0; i < s.values.length; i++) p(off + i * nb, s.values[i]); }
  return out;
}

/** gzip bytes with the runtime's CompressionStream. */
export async function gzipBytes(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Debian's python3 with nibabel, if installed (tests that need it skip otherwise). */
export const PYTHON = "/usr/bin/python3";

const pythonChecked = new Map<string, boolean>();
/** Whether Debian's `/usr/bin/python3` imports these modules here (tests that need them skip otherwise). */
export function havePython(modules: string[]): boolean {
  const key = modules.join(",");
  if (!pythonChecked.has(key)) {
    let ok = false;
    try {
      ok = new Deno.Command(PYTHON, { args: ["-c", `import ${key}`], stdout: "null", stderr: "null" }).outputSync()
        .success;
    } catch { /* no python */ }
    pythonChecked.set(key, ok);
  }
  return pythonChecked.get(key)!;
}

/** Whether `/usr/bin/python3 -c "import nibabel"` works here. */
export function haveNibabel(): boolean {
  return havePython(["nibabel", "numpy"]);
}

/** nibabel's view of a file: shape, affine, and get_fdata() as float64. */
export interface NibabelView {
  shape: number[];
  affine: number[][];
  axcodes: string[];
  data: Float64Array;
}

/** Loads a file with nibabel (x-fastest data order, like ours). */
export async function nibabelLoad(path: string): Promise<NibabelView> {
  const dir = await Deno.makeTempDir();
  try {
    const script = `
import sys, json, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
d = np.asarray(img.get_fdata(), dtype=np.float64)
d.reshape(-1, order="F").tofile(sys.argv[2] + "/data.f64")
json.dump({"shape": list(img.shape), "affine": img.affine.tolist(), "axcodes": list(nib.aff2axcodes(img.affine))}, open(sys.argv[2] + "/meta.json", "w"))
`;
    const r = await new Deno.Command(PYTHON, { args: ["-c", script, path, dir] }).output();
    if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
    const meta = JSON.parse(await Deno.readTextFile(join(dir, "meta.json")));
    const raw = await Deno.readFile(join(dir, "data.f64"));
    return { ...meta, data: new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A small head-like scan: a bright ellipsoid shell around a darker core. */
export async function writeHead(path: string, seed = 1): Promise<void> {
  const [nx, ny, nz] = [36, 40, 32];
  const data = new Float32Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const r = Math.hypot((x - 18) / 15, (y - 20) / 17, (z - 16) / 13);
        if (r < 1) data[x + nx * (y + ny * z)] = (r > 0.8 ? 300 : 100 + 80 * r) + 5 * Math.sin(x * seed + y);
      }
    }
  }
  await writeNifti(
    path,
    makeVolume(data, [nx, ny, nz], [[1.2, 0, 0, -20], [0, 1.2, 0, -24], [0, 0, 1.2, -19], [0, 0, 0, 1]]),
  );
}

/** Runs the CLI in-process, capturing stderr lines. */
export async function runCli(argv: string[]): Promise<{ code: number; err: string[] }> {
  const { main } = await import("../cli.ts");
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (l) => err.push(l), isTty: false });
  return { code, err };
}

/** Runs `fn` with environment variables set, restoring them afterwards. */
export async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const prev = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(prev)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

/** SHA-256 (hex) of a file through WebCrypto: a second implementation beside the library's streaming `node:crypto` one. */
export async function sha256Of(path: string): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}
