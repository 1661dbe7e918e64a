/**
 * The SAMRI golden vectors in tests/golden/samri/ (see its README): the
 * case index, `.npy.gz` arrays, and SHA-256 over raw array bytes.
 *
 * @module
 */
import { decompress } from "../../lib/io/gzip.ts";

/** tests/golden/samri/ as a path. */
export const GOLDEN = new URL("../golden/samri/", import.meta.url).pathname;

/** One prompt of a golden case. */
export interface GoldenPrompt {
  name: string;
  box: [number, number, number, number];
  point: [number, number] | null;
  point_label: number | null;
  decoder_inputs: { point_coords: number[][][]; point_labels: number[][]; orig_im_size: number[] };
  torch: { iou: number; mask_sha256_data: string; low_res_logits: { sha256_data: string } };
}

/** One golden case. */
export interface GoldenCase {
  name: string;
  input: { file: string };
  H: number;
  W: number;
  resized_hw: [number, number];
  arrays: Record<string, { sha256_data: string; file?: string }>;
  prompts: GoldenPrompt[];
}

/** cases.json. */
export const CASES: GoldenCase[] = JSON.parse(await Deno.readTextFile(`${GOLDEN}cases.json`)).cases;

/** Lowercase hex SHA-256 of the bytes of a typed array. */
export async function sha256(a: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads a little-endian float32 `.npy.gz` (any shape) as a flat Float32Array. */
export async function readNpyF32(rel: string): Promise<Float32Array> {
  const b = await decompress(await Deno.readFile(`${GOLDEN}${rel}`));
  if (b[0] !== 0x93 || String.fromCharCode(...b.subarray(1, 6)) !== "NUMPY") throw new Error(`${rel}: not .npy`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const major = b[6];
  const hlen = major === 1 ? v.getUint16(8, true) : v.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = new TextDecoder().decode(b.subarray(major === 1 ? 10 : 12, start));
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) throw new Error(`${rel}: ${header}`);
  return new Float32Array(b.slice(start).buffer);
}
