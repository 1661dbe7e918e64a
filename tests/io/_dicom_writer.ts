/**
 * A small DICOM writer for tests: explicit VR little endian, uncompressed,
 * one 16-bit signed slice per file (CT or MR image storage), with the
 * geometry and series tags dcm2niix reads.
 *
 * @module
 */
import type { Volume } from "../../lib/core/types.ts";
import { invert } from "../../lib/geometry/affine.ts";
import { assert, assertEquals } from "../_assert.ts";
import { concatBytes } from "../../lib/core/bytes.ts";

/** One series to write from a volume's z slices. */
export interface SeriesSpec {
  /** Stored integer values, x fastest (dims[0] x dims[1] x dims[2]). */
  stored: Int16Array;
  /** (x, y, z) sizes. */
  dims: number[];
  /** RAS voxel-to-world affine (columns 0, 1, 2 orthogonal). */
  affine: number[][];
  slope: number;
  intercept: number;
  seriesNumber: number;
  description: string;
  uid: string;
  modality?: "CT" | "MR";
  /** Slices (z indices) left out. */
  skip?: number[];
  /** File name of slice z (default `z.dcm`). */
  fileName?: (z: number) => string;
  /** InstanceNumber of slice z (default z + 1). */
  instance?: (z: number) => number;
}

const LONG_VR = new Set(["OB", "OW", "OF", "SQ", "UT", "UN"]);

class Out {
  parts: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array) {
    this.parts.push(b);
    this.length += b.length;
  }
  bytes(): Uint8Array {
    const o = new Uint8Array(this.length);
    let p = 0;
    for (const b of this.parts) {
      o.set(b, p);
      p += b.length;
    }
    return o;
  }
}

/** One explicit-VR little-endian element (defined length). */
export function element(group: number, elem: number, vr: string, value: Uint8Array): Uint8Array {
  const pad = value.length % 2;
  const long = LONG_VR.has(vr);
  const head = long ? 12 : 8;
  const b = new Uint8Array(head + value.length + pad);
  const v = new DataView(b.buffer);
  v.setUint16(0, group, true);
  v.setUint16(2, elem, true);
  b[4] = vr.charCodeAt(0);
  b[5] = vr.charCodeAt(1);
  if (long) v.setUint32(8, value.length + pad, true);
  else v.setUint16(6, value.length + pad, true);
  b.set(value, head);
  if (pad) b[head + value.length] = vr === "UI" || vr === "OB" ? 0 : 0x20;
  return b;
}

const text = (s: string) => new TextEncoder().encode(s);
const us = (n: number) => new Uint8Array(new Uint16Array([n]).buffer);
const ds = (xs: number[]) => text(xs.map((x) => Number(x.toFixed(6)).toString()).join("\\"));

/** The bytes of one DICOM file. */
export function dicomFile(
  tags: [number, number, string, Uint8Array][],
  sopClass: string,
  sopUid: string,
  transferSyntax = "1.2.840.10008.1.2.1",
): Uint8Array {
  const out = new Out();
  out.push(new Uint8Array(128));
  out.push(text("DICM"));
  const meta = [
    element(2, 1, "OB", new Uint8Array([0, 1])),
    element(2, 2, "UI", text(sopClass)),
    element(2, 3, "UI", text(sopUid)),
    element(2, 0x10, "UI", text(transferSyntax)),
  ];
  const metaLen = meta.reduce((s, m) => s + m.length, 0);
  out.push(element(2, 0, "UL", new Uint8Array(new Uint32Array([metaLen]).buffer)));
  for (const m of meta) out.push(m);
  for (const [g, e, vr, val] of [...tags].sort((a, b) => a[0] - b[0] || a[1] - b[1])) out.push(element(g, e, vr, val));
  return out.bytes();
}

function norm(v: number[]): [number[], number] {
  const n = Math.hypot(...v);
  return [v.map((x) => x / n), n];
}

/** Writes `spec` as one file per slice into `dir`; returns the file names. */
export async function writeSeries(dir: string, spec: SeriesSpec): Promise<string[]> {
  const [nx, ny, nz] = spec.dims;
  const a = spec.affine;
  const lps = (v: number[]) => [-v[0], -v[1], v[2]];
  const [rowDir, colSp] = norm(lps([a[0][0], a[1][0], a[2][0]]));
  const [colDir, rowSp] = norm(lps([a[0][1], a[1][1], a[2][1]]));
  const [, sliceSp] = norm([a[0][2], a[1][2], a[2][2]]);
  const sopClass = spec.modality === "MR" ? "1.2.840.10008.5.1.4.1.1.4" : "1.2.840.10008.5.1.4.1.1.2";
  const names: string[] = [];
  for (let z = 0; z < nz; z++) {
    if (spec.skip?.includes(z)) continue;
    const pos = lps([0, 1, 2].map((r) => a[r][2] * z + a[r][3]));
    const px = spec.stored.slice(z * nx * ny, (z + 1) * nx * ny); // row y, column x
    const sop = `${spec.uid}.${z + 1}`;
    const inst = spec.instance ? spec.instance(z) : z + 1;
    const tags: [number, number, string, Uint8Array][] = [
      [8, 0x16, "UI", text(sopClass)],
      [8, 0x18, "UI", text(sop)],
      [8, 0x20, "DA", text("20260101")],
      [8, 0x30, "TM", text("120000")],
      [8, 0x60, "CS", text(spec.modality ?? "CT")],
      [8, 0x103e, "LO", text(spec.description)],
      [0x10, 0x10, "PN", text("Test^Phantom")],
      [0x10, 0x20, "LO", text("P1")],
      [0x18, 0x50, "DS", ds([sliceSp])],
      [0x20, 0x0d, "UI", text("1.2.826.0.1.3680043.9.7777.1")],
      [0x20, 0x0e, "UI", text(spec.uid)],
      [0x20, 0x11, "IS", text(String(spec.seriesNumber))],
      [0x20, 0x13, "IS", text(String(inst))],
      [0x20, 0x32, "DS", ds(pos)],
      [0x20, 0x37, "DS", ds([...rowDir, ...colDir])],
      [0x28, 0x02, "US", us(1)],
      [0x28, 0x04, "CS", text("MONOCHROME2")],
      [0x28, 0x10, "US", us(ny)],
      [0x28, 0x11, "US", us(nx)],
      [0x28, 0x30, "DS", ds([rowSp, colSp])],
      [0x28, 0x100, "US", us(16)],
      [0x28, 0x101, "US", us(16)],
      [0x28, 0x102, "US", us(15)],
      [0x28, 0x103, "US", us(1)],
      [0x28, 0x1052, "DS", ds([spec.intercept])],
      [0x28, 0x1053, "DS", ds([spec.slope])],
      [0x7fe0, 0x10, "OW", new Uint8Array(px.buffer)],
    ];
    const name = spec.fileName ? spec.fileName(z) : `${z}.dcm`;
    await Deno.writeFile(`${dir}/${name}`, dicomFile(tags, sopClass, sop));
    names.push(name);
  }
  return names;
}

/** A test volume of `stored * slope + intercept` (float32) on `affine`. */
export function sourceVolume(spec: SeriesSpec, header: Volume["header"]): Volume {
  const data = new Float32Array(spec.stored.length);
  for (let i = 0; i < data.length; i++) data[i] = spec.stored[i] * spec.slope + spec.intercept;
  const pixdim = [0, 1, 2].map((c) => Math.hypot(spec.affine[0][c], spec.affine[1][c], spec.affine[2][c]));
  return { dims: [...spec.dims], affine: spec.affine.map((r) => [...r]), pixdim, data, header };
}

/**
 * Every source voxel lands on an integer voxel of `got` within 1e-3 mm and
 * holds the same value (so `got` is the source after a reorientation).
 */
export function assertSameImage(got: Volume, src: Volume): void {
  assertEquals(got.dims.slice(0, 3).reduce((a, b) => a * b), src.dims.slice(0, 3).reduce((a, b) => a * b));
  const inv = invert(got.affine);
  const [nx, ny] = src.dims, [gx, gy, gz] = got.dims;
  let worst = 0;
  for (let i = 0; i < src.data.length; i++) {
    const v = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
    const w = [0, 1, 2].map((r) =>
      src.affine[r][0] * v[0] + src.affine[r][1] * v[1] + src.affine[r][2] * v[2] + src.affine[r][3]
    );
    const g = [0, 1, 2].map((r) => Math.round(inv[r][0] * w[0] + inv[r][1] * w[1] + inv[r][2] * w[2] + inv[r][3]));
    assert(g[0] >= 0 && g[0] < gx && g[1] >= 0 && g[1] < gy && g[2] >= 0 && g[2] < gz, `voxel ${v} inside`);
    const back = [0, 1, 2].map((r) =>
      got.affine[r][0] * g[0] + got.affine[r][1] * g[1] + got.affine[r][2] * g[2] + got.affine[r][3]
    );
    worst = Math.max(worst, ...back.map((b, k) => Math.abs(b - w[k])));
    assertEquals(got.data[g[0] + gx * (g[1] + gy * g[2])], src.data[i], `value at source voxel ${v}`);
  }
  assert(worst < 1e-3, `affine within 1e-3 mm (worst ${worst})`);
}

/** An item of a sequence: its elements (already encoded, in tag order) with the item tag and length. */
function item(elements: Uint8Array[]): Uint8Array {
  const len = elements.reduce((s, e) => s + e.length, 0);
  const b = new Uint8Array(8 + len);
  const v = new DataView(b.buffer);
  v.setUint16(0, 0xfffe, true);
  v.setUint16(2, 0xe000, true);
  v.setUint32(4, len, true);
  let p = 8;
  for (const e of elements) {
    b.set(e, p);
    p += e.length;
  }
  return b;
}

/** A sequence (SQ, defined length) of items, each a list of encoded elements. */
function sequence(items: Uint8Array[][]): Uint8Array {
  return concatBytes(items.map(item));
}

/**
 * Writes `spec` as one Enhanced MR Image Storage file (multi-frame, one
 * frame per z slice; per-frame positions in the Per-frame Functional
 * Groups, spacing, orientation and rescale in the Shared Functional
 * Groups), as scanners of the enhanced era do.
 */
export async function writeMultiFrame(path: string, spec: SeriesSpec): Promise<void> {
  const [nx, ny, nz] = spec.dims;
  const a = spec.affine;
  const lps = (v: number[]) => [-v[0], -v[1], v[2]];
  const [rowDir, colSp] = norm(lps([a[0][0], a[1][0], a[2][0]]));
  const [colDir, rowSp] = norm(lps([a[0][1], a[1][1], a[2][1]]));
  const [, sliceSp] = norm([a[0][2], a[1][2], a[2][2]]);
  const sopClass = "1.2.840.10008.5.1.4.1.1.4.1";
  const sop = `${spec.uid}.1`;
  const ul = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  const shared = sequence([[
    element(0x20, 0x9116, "SQ", sequence([[element(0x20, 0x37, "DS", ds([...rowDir, ...colDir]))]])),
    element(
      0x28,
      0x9110,
      "SQ",
      sequence([[element(0x18, 0x50, "DS", ds([sliceSp])), element(0x28, 0x30, "DS", ds([rowSp, colSp]))]]),
    ),
    element(
      0x28,
      0x9145,
      "SQ",
      sequence([[
        element(0x28, 0x1052, "DS", ds([spec.intercept])),
        element(0x28, 0x1053, "DS", ds([spec.slope])),
        element(0x28, 0x1054, "LO", text("US")),
      ]]),
    ),
  ]]);
  const frames: Uint8Array[][] = [];
  for (let z = 0; z < nz; z++) {
    const pos = lps([0, 1, 2].map((r) => a[r][2] * z + a[r][3]));
    frames.push([
      element(
        0x20,
        0x9111,
        "SQ",
        sequence([[element(0x20, 0x9057, "UL", ul(z + 1)), element(0x20, 0x9157, "UL", ul(z + 1))]]),
      ),
      element(0x20, 0x9113, "SQ", sequence([[element(0x20, 0x32, "DS", ds(pos))]])),
    ]);
  }
  const tags: [number, number, string, Uint8Array][] = [
    [8, 0x16, "UI", text(sopClass)],
    [8, 0x18, "UI", text(sop)],
    [8, 0x20, "DA", text("20260101")],
    [8, 0x30, "TM", text("120000")],
    [8, 0x60, "CS", text("MR")],
    [8, 0x70, "LO", text("Test")],
    [8, 0x103e, "LO", text(spec.description)],
    [0x10, 0x10, "PN", text("Test^Phantom")],
    [0x10, 0x20, "LO", text("P1")],
    [0x20, 0x0d, "UI", text("1.2.826.0.1.3680043.9.7777.1")],
    [0x20, 0x0e, "UI", text(spec.uid)],
    [0x20, 0x11, "IS", text(String(spec.seriesNumber))],
    [0x20, 0x13, "IS", text("1")],
    [0x20, 0x9222, "SQ", sequence([[element(0x20, 0x9165, "AT", new Uint8Array([0x20, 0, 0x57, 0x90]))]])],
    [0x28, 0x02, "US", us(1)],
    [0x28, 0x04, "CS", text("MONOCHROME2")],
    [0x28, 0x08, "IS", text(String(nz))],
    [0x28, 0x10, "US", us(ny)],
    [0x28, 0x11, "US", us(nx)],
    [0x28, 0x100, "US", us(16)],
    [0x28, 0x101, "US", us(16)],
    [0x28, 0x102, "US", us(15)],
    [0x28, 0x103, "US", us(1)],
    [0x5200, 0x9229, "SQ", shared],
    [0x5200, 0x9230, "SQ", sequence(frames)],
    [0x7fe0, 0x10, "OW", new Uint8Array(spec.stored.buffer, spec.stored.byteOffset, spec.stored.byteLength)],
  ];
  await Deno.writeFile(path, dicomFile(tags, sopClass, sop));
}
