/**
 * The weighted adds of `accumulate_kernel.ts` as WebAssembly SIMD functions,
 * on an accumulator held in a shared `WebAssembly.Memory` (every thread
 * instantiates the module on the same memory): `rows` for (C, z, y, x)
 * tiles, `xyz` for (C, x, y, z) ones (transposed in 4x4 blocks with lane
 * shuffles), `divide` for the final division. Four floats at a time: `f32x4.add(sum, f32x4.mul(logit,
 * weight))` is IEEE single precision, the same rounding as the JavaScript
 * kernels' `sum += fround(logit * weight)`, so the sums are the same bit for
 * bit. The tile's logits are copied into the memory first (the network's
 * output lies outside it), a round of classes at a time.
 *
 * The module (1.6 kB) is written out here from its instructions
 * (no build step, no binary file); {@linkcode wasmKernelSupported} says
 * whether this runtime compiles it (SIMD and shared memory).
 *
 * @module
 */
import type { TileGeometry } from "./accumulate_kernel.ts";

/** Largest shared memory a 32-bit WebAssembly module can address: 65,536 pages of 64 KiB. */
export const WASM_MAX_BYTES = 65536 * 65536;

/**
 * Bytes of the memory's tile region, which a tile's classes pass through in
 * rounds: 64 MiB (at least one class). A whole copy of a large tile (a
 * full-size SIAM tile is 906 MB, a MONAI CT tile 371 MB) would cost its size
 * again in memory.
 */
export const WASM_MAX_TILE_BYTES = 64 * 1024 * 1024;

/** Bytes of one WebAssembly page. */
const PAGE = 65536;

// --- a minimal assembler -----------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const I32 = 0x7f;
/** Opcodes used below. */
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (l: number) => [0x0c, ...uleb(l)],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  const: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  and: [0x71],
  shl: [0x74],
  geU: [0x4f],
  geS: [0x4e],
  f32Load: [0x2a, 2, 0],
  f32Store: [0x38, 2, 0],
  f32Add: [0x92],
  f32Mul: [0x94],
  v128Load: [0xfd, 0x00, 2, 0],
  v128Store: [0xfd, 0x0b, 2, 0],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4Div: [0xfd, ...uleb(0xe7)],
  f32Div: [0x95],
  /** `i8x16.shuffle` picking 32-bit lanes `l` (0-3 of the first operand, 4-7 of the second). */
  shuffle32: (l: number[]) => [0xfd, 0x0d, ...l.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3])],
};

const V128 = 0x7b;

// Expressions: each returns its instructions.
const get = op.get;
const k32 = op.const;
const plus = (...xs: number[][]) => xs.slice(1).reduce((a, b) => [...a, ...b, ...op.add], xs[0]);
const times = (a: number[], b: number[]) => [...a, ...b, ...op.mul];
const setTo = (i: number, e: number[]) => [...e, ...op.set(i)];
/** A float count as bytes (`<< 2`). */
const bytes = (e: number[]) => [...e, ...k32(2), ...op.shl];
/** `for (i = from; i < to; i += step) body` (signed compare). */
const forLoop = (i: number, from: number[], to: number, step: number, body: number[]) => [
  ...setTo(i, from),
  ...whileLt(i, to, [...body, ...inc(i, step)], true),
];

/** `while (!(get(a) >= get(b))) { body }` (unsigned or signed compare). */
function whileLt(a: number, b: number, body: number[], signed = false): number[] {
  return [
    ...op.block,
    ...op.loop,
    ...op.get(a),
    ...op.get(b),
    ...(signed ? op.geS : op.geU),
    ...op.brIf(1),
    ...body,
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** `local[i] += k`. */
function inc(i: number, k: number): number[] {
  return [...op.get(i), ...op.const(k), ...op.add, ...op.set(i)];
}

// Parameters of `rows` and `xyz` (sum, logits and weights as byte addresses; the rest counts, as in `rowsKernel`).
const [SUM, LG, G, N, NY, NX, PZ, PY, PX, S0, S1, S2, C0, C1, FIRST] = Array.from({ length: 15 }, (_, i) => i);
// Locals of `rows`.
const [C, Z, Y, D, T, W, X, END4, END, PN, TC] = Array.from({ length: 11 }, (_, i) => 15 + i);

/** `*(f32x4*)(a + x) op …` address helper: get(a) + get(X). */
function at(a: number): number[] {
  return [...op.get(a), ...op.get(X), ...op.add];
}

/** `*(D + X) += *(T + X) * *(W + X)` for four floats (`vector`) or one, then X past them. */
function rowStep(vector: boolean): number[] {
  const [load, mul, add, store] = vector
    ? [op.v128Load, op.f32x4Mul, op.f32x4Add, op.v128Store]
    : [op.f32Load, op.f32Mul, op.f32Add, op.f32Store];
  return [
    ...at(D),
    ...at(D),
    ...load,
    ...at(T),
    ...load,
    ...at(W),
    ...load,
    ...mul,
    ...add,
    ...store,
    ...inc(X, vector ? 16 : 4),
  ];
}

function rowsBody(): number[] {
  const row = [
    // d = sum + (c*n + ((s0 + z)*ny + s1 + y)*nx + s2)*4
    ...setTo(
      D,
      plus(
        get(SUM),
        bytes(
          plus(
            times(get(C), get(N)),
            times(plus(times(plus(get(S0), get(Z)), get(NY)), get(S1), get(Y)), get(NX)),
            get(S2),
          ),
        ),
      ),
    ),
    // w = (z*py + y)*px*4, the row's offset in the patch; t = tc + w; w += g
    ...setTo(W, bytes(times(plus(times(get(Z), get(PY)), get(Y)), get(PX)))),
    ...setTo(T, plus(get(TC), get(W))),
    ...setTo(W, plus(get(G), get(W))),
    ...setTo(X, k32(0)),
    ...whileLt(X, END4, rowStep(true)),
    ...whileLt(X, END, rowStep(false)),
  ];
  const cls = [
    // tc = lg + (c - first)*pn*4
    ...setTo(TC, plus(get(LG), bytes(times([...get(C), ...get(FIRST), ...op.sub], get(PN))))),
    ...forLoop(Z, k32(0), PZ, 1, forLoop(Y, k32(0), PY, 1, row)),
  ];
  return [
    ...setTo(PN, times(times(get(PZ), get(PY)), get(PX))),
    ...setTo(END, bytes(get(PX))),
    ...setTo(END4, bytes([...get(PX), ...k32(-4), ...op.and])),
    ...forLoop(C, get(C0), C1, 1, cls),
    ...op.end,
  ];
}

// Locals of `xyz` after the 15 parameters.
const [XC, XY, XZ, XX, TB, DB, GB, XPN, SXB, DZB, GZB, Z4, X4, TP, DD, GG] = Array.from(
  { length: 16 },
  (_, i) => 15 + i,
);
const [VA, VB, VCC, VD, T0, T1, T2, T3] = Array.from({ length: 8 }, (_, i) => 31 + i);

/** `sum[dd] += logit[tp] * weight[gg]` for one float (addresses in bytes). */
const scalarAdd = (dd: number[], tp: number[], gg: number[]) => [
  ...dd,
  ...dd,
  ...op.f32Load,
  ...tp,
  ...op.f32Load,
  ...gg,
  ...op.f32Load,
  ...op.f32Mul,
  ...op.f32Add,
  ...op.f32Store,
];

/** The scalar loops over z in [zFrom, zTo) and x in [xFrom, xTo) of one (class, y) plane. */
function xyzScalar(zFrom: number[], zTo: number, xFrom: number[], xTo: number): number[] {
  return forLoop(
    XZ,
    zFrom,
    zTo,
    1,
    forLoop(
      XX,
      xFrom,
      xTo,
      1,
      scalarAdd(
        plus(get(DB), times(get(XZ), get(DZB)), bytes(get(XX))),
        plus(get(TB), times(get(XX), get(SXB)), bytes(get(XZ))),
        plus(get(GB), times(get(XZ), get(GZB)), bytes(get(XX))),
      ),
    ),
  );
}

/**
 * One 4x4 block: four z-vectors of logits at x, x+1, x+2, x+3 (z fastest in
 * the tensor) transposed into four x-vectors at z … z+3, each multiplied by
 * its weight row and added into its sum row.
 */
function xyzBlock(): number[] {
  const load = (i: number, e: number[]) => setTo(i, [...e, ...op.v128Load]);
  const shuf = (i: number, a: number, b: number, lanes: number[]) =>
    setTo(i, [...get(a), ...get(b), ...op.shuffle32(lanes)]);
  const tp = TP;
  const rowAdd = (v: number) => [
    ...get(DD),
    ...get(DD),
    ...op.v128Load,
    ...get(v),
    ...get(GG),
    ...op.v128Load,
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.v128Store,
    ...setTo(DD, plus(get(DD), get(DZB))),
    ...setTo(GG, plus(get(GG), get(GZB))),
  ];
  return [
    ...setTo(tp, plus(get(TB), times(get(XX), get(SXB)), bytes(get(XZ)))),
    ...load(VA, get(tp)),
    ...load(VB, plus(get(tp), get(SXB))),
    ...load(VCC, plus(get(tp), get(SXB), get(SXB))),
    ...load(VD, plus(get(tp), get(SXB), get(SXB), get(SXB))),
    ...shuf(T0, VA, VB, [0, 4, 1, 5]),
    ...shuf(T1, VA, VB, [2, 6, 3, 7]),
    ...shuf(T2, VCC, VD, [0, 4, 1, 5]),
    ...shuf(T3, VCC, VD, [2, 6, 3, 7]),
    ...shuf(VA, T0, T2, [0, 1, 4, 5]),
    ...shuf(VB, T0, T2, [2, 3, 6, 7]),
    ...shuf(VCC, T1, T3, [0, 1, 4, 5]),
    ...shuf(VD, T1, T3, [2, 3, 6, 7]),
    ...setTo(DD, plus(get(DB), times(get(XZ), get(DZB)), bytes(get(XX)))),
    ...setTo(GG, plus(get(GB), times(get(XZ), get(GZB)), bytes(get(XX)))),
    ...rowAdd(VA),
    ...rowAdd(VB),
    ...rowAdd(VCC),
    ...rowAdd(VD),
  ];
}

/** The (x, y, z) kernel of `xyzKernel` (`accumulate_kernel.ts`): 4x4 blocks, scalar edges. */
function xyzBody(): number[] {
  const tb = plus(
    get(LG),
    bytes(plus(times([...get(XC), ...get(FIRST), ...op.sub], get(XPN)), times(get(XY), get(PZ)))),
  );
  const db = plus(
    get(SUM),
    bytes(plus(times(get(XC), get(N)), times(plus(times(get(S0), get(NY)), get(S1), get(XY)), get(NX)), get(S2))),
  );
  const gb = plus(get(G), bytes(times(get(XY), get(PX))));
  const plane = [
    ...setTo(TB, tb),
    ...setTo(DB, db),
    ...setTo(GB, gb),
    ...forLoop(XZ, k32(0), Z4, 4, forLoop(XX, k32(0), X4, 4, xyzBlock())),
    // x past the last whole block, for the blocked z; then z past the last whole block, for every x.
    ...xyzScalar(k32(0), Z4, get(X4), PX),
    ...xyzScalar(get(Z4), PZ, k32(0), PX),
  ];
  return [
    ...setTo(XPN, times(times(get(PZ), get(PY)), get(PX))),
    ...setTo(SXB, bytes(times(get(PY), get(PZ)))),
    ...setTo(DZB, bytes(times(get(NY), get(NX)))),
    ...setTo(GZB, bytes(times(get(PY), get(PX)))),
    ...setTo(Z4, [...get(PZ), ...k32(-4), ...op.and]),
    ...setTo(X4, [...get(PX), ...k32(-4), ...op.and]),
    ...forLoop(XC, get(C0), C1, 1, forLoop(XY, k32(0), PY, 1, plane)),
    ...op.end,
  ];
}

// Parameters and locals of `divide`.
const [QSUM, QGRID, QCLASSES, QN, QNY, QNX, QOZ, QOY, QOX, QP0, QP1, QP2] = Array.from({ length: 12 }, (_, i) => i);
const [QC, QZ, QY, QD, QS, QW, QE, QE4] = Array.from({ length: 8 }, (_, i) => 12 + i);

/**
 * The final division of `LogitAccumulator.finish`, in place: every class's
 * unpadded (z, y, x) box of sums divided by the grid's sums of weights and
 * packed from the start of the memory (a destination never passes its
 * source, so reading four floats before writing four is safe).
 */
function divideBody(): number[] {
  const step = (n: number) => [...inc(QD, n), ...inc(QS, n), ...inc(QW, n)];
  const divStep = (vector: boolean) => {
    const [load, div, store] = vector ? [op.v128Load, op.f32x4Div, op.v128Store] : [op.f32Load, op.f32Div, op.f32Store];
    return [...get(QD), ...get(QS), ...load, ...get(QW), ...load, ...div, ...store, ...step(vector ? 16 : 4)];
  };
  const vector = divStep(true);
  const scalar = divStep(false);
  // wi = ((z + p0)*ny + y + p1)*nx + p2; S = sum + (c*n + wi)*4; W = grid + wi*4
  const wi = plus(times(plus(times(plus(get(QZ), get(QP0)), get(QNY)), get(QY), get(QP1)), get(QNX)), get(QP2));
  const row = [
    ...setTo(QW, wi),
    ...setTo(QS, plus(get(QSUM), bytes(plus(times(get(QC), get(QN)), get(QW))))),
    ...setTo(QW, plus(get(QGRID), bytes(get(QW)))),
    ...setTo(QE4, plus(get(QD), bytes([...get(QOX), ...k32(-4), ...op.and]))),
    ...setTo(QE, plus(get(QD), bytes(get(QOX)))),
    ...whileLt(QD, QE4, vector),
    ...whileLt(QD, QE, scalar),
  ];
  return [
    ...setTo(QD, get(QSUM)),
    ...forLoop(QC, k32(0), QCLASSES, 1, forLoop(QZ, k32(0), QOZ, 1, forLoop(QY, k32(0), QOY, 1, row))),
    ...op.end,
  ];
}

/** The module's bytes: imports `env.memory` (shared), exports `rows`, `xyz` and `divide`. */
export function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const type = section(
    1,
    vec([[0x60, ...vec(Array(15).fill([I32])), ...vec([])], [0x60, ...vec(Array(12).fill([I32])), ...vec([])]]),
  );
  // Shared memory, 1 to 65,536 pages (flags 3: has a maximum, shared).
  const imports = section(2, vec([[...str("env"), ...str("memory"), 0x02, 0x03, ...uleb(1), ...uleb(65536)]]));
  const funcs = section(3, vec([[0], [0], [1]]));
  const exports = section(
    7,
    vec([[...str("rows"), 0x00, 0], [...str("xyz"), 0x00, 1], [...str("divide"), 0x00, 2]]),
  );
  const body = [...vec([[...uleb(11), I32]]), ...rowsBody()];
  const xyz = [...vec([[...uleb(16), I32], [...uleb(8), V128]]), ...xyzBody()];
  const divide = [...vec([[...uleb(8), I32]]), ...divideBody()];
  const code = section(
    10,
    vec([[...uleb(body.length), ...body], [...uleb(xyz.length), ...xyz], [...uleb(divide.length), ...divide]]),
  );
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imports, ...funcs, ...exports, ...code]);
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where this runtime lacks SIMD or shared memory. */
export function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    if (typeof WebAssembly !== "object" || typeof SharedArrayBuffer !== "function") return (compiled = null);
    compiled = new WebAssembly.Module(kernelModuleBytes());
    warmKernels(compiled);
  } catch {
    compiled = null;
  }
  return compiled;
}

/**
 * Calls of each kernel on a small grid made at compile time, so that the
 * run's own calls get optimised code. V8 first compiles WebAssembly with its
 * baseline compiler and optimises a function only once it has run for a
 * while; a call already running keeps the baseline code to its end, so the
 * one call of `divide` per run, and a run's first adds, would run it: the
 * division of a 105-class CT grid took 190 ms there against 33 ms optimised
 * (per process; the optimised code serves every instance of the module,
 * workers' included). 1,000 rounds on 8³ voxels take ~3 ms; 200 were enough
 * in V8 13.
 */
export const WARM_ROUNDS = 1000;

function warmKernels(module: WebAssembly.Module): void {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  // Sums of 2 classes at byte 0, the grid's weights at 4096, tile weights at 8192, the tile at 12288 (8x8x8 each).
  new Float32Array(memory.buffer).fill(1);
  const k = instantiateKernel(memory, module);
  for (let i = 0; i < WARM_ROUNDS; i++) {
    k.rows(0, 12288, 8192, 512, 8, 8, 8, 8, 8, 0, 0, 0, 0, 2, 0);
    k.xyz(0, 12288, 8192, 512, 8, 8, 8, 8, 8, 0, 0, 0, 0, 2, 0);
    k.divide(0, 4096, 2, 512, 8, 8, 8, 8, 8, 0, 0, 0);
  }
}

/** Whether this runtime runs the SIMD kernel (WebAssembly SIMD and shared memory). */
export function wasmKernelSupported(): boolean {
  return kernelModule() !== null;
}

/** The `rows` and `xyz` exports: byte addresses for sum, logits and weights; the rest as `addRows`. */
export type RowsFn = (
  sum: number,
  logits: number,
  weights: number,
  n: number,
  ny: number,
  nx: number,
  pz: number,
  py: number,
  px: number,
  s0: number,
  s1: number,
  s2: number,
  c0: number,
  c1: number,
  first: number,
) => void;

/** The kernel instantiated on `memory` (a shared memory of the accumulator's layout). */
export function instantiateKernel(
  memory: WebAssembly.Memory,
  module: WebAssembly.Module = kernelModule()!,
): Kernels {
  const e = new WebAssembly.Instance(module, { env: { memory } }).exports;
  return { rows: e.rows as RowsFn, xyz: e.xyz as RowsFn, divide: e.divide as DivideFn };
}

/** `divide`: sum and grid as byte addresses, then classes, grid (n, ny, nx), unpadded box (z, y, x) and its start. */
export type DivideFn = (
  sum: number,
  grid: number,
  classes: number,
  n: number,
  ny: number,
  nx: number,
  oz: number,
  oy: number,
  ox: number,
  p0: number,
  p1: number,
  p2: number,
) => void;

/** The module's exports. */
export interface Kernels {
  /** (C, z, y, x) tiles. */
  rows: RowsFn;
  /** (C, x, y, z) tiles. */
  xyz: RowsFn;
  /** The final division. */
  divide: DivideFn;
}

/** Pages for `bytes` (rounded up). */
export function pagesFor(bytes: number): number {
  return Math.ceil(bytes / PAGE);
}

/** Float offsets (and sizes) of the regions of an {@linkcode AccumulatorMemory}. */
export interface AccumulatorLayout {
  /** Floats of the (C, z, y, x) sums, at offset 0. */
  sum: number;
  /** Float offset of the grid's (z, y, x) sums of weights. */
  grid: number;
  /** Voxels of the grid (floats of its sums of weights). */
  voxels: number;
  /** Float offset of the tile weights (pz, py, px). */
  weights: number;
  /** Float offset of a tile of ones (pz, py, px): the weights added as logits of 1. */
  ones: number;
  /** Float offset of the tile region: a round's classes of one tile's (C, pz, py, px) logits, copied in. */
  tile: number;
  /** Classes the tile region holds (a tile is copied in rounds of this many). */
  roundClasses: number;
  /** Voxels of the patch (floats of the weights). */
  patch: number;
  /** Bytes of the memory. */
  bytes: number;
}

/** Rounds a float count up to whole 16-byte vectors. */
function vectors(floats: number): number {
  return Math.ceil(floats / 4) * 4;
}

/**
 * Where each region lies for `classes` over `voxels` grid voxels and
 * `patchVoxels` tile voxels: the tile region holds as many classes as fit in
 * {@linkcode WASM_MAX_TILE_BYTES} (at least one).
 */
export function accumulatorLayout(classes: number, voxels: number, patchVoxels: number): AccumulatorLayout {
  const sum = classes * voxels;
  const grid = vectors(sum);
  const weights = grid + vectors(voxels);
  const ones = weights + vectors(patchVoxels);
  const tile = ones + vectors(patchVoxels);
  const roundClasses = Math.max(1, Math.min(classes, Math.floor(WASM_MAX_TILE_BYTES / (4 * patchVoxels))));
  const bytes = (tile + vectors(roundClasses * patchVoxels)) * 4;
  return { sum, grid, voxels, weights, ones, tile, roundClasses, patch: patchVoxels, bytes };
}

/**
 * An accumulator's sums, tile weights and a round of a tile's logits in one
 * shared `WebAssembly.Memory`, with the SIMD kernels on it. Worker threads
 * instantiate the same module on the same memory
 * ({@linkcode AccumulatorMemory.attach}).
 */
export class AccumulatorMemory {
  /** The shared memory. */
  readonly memory: WebAssembly.Memory;
  /** The compiled kernel module. */
  readonly module: WebAssembly.Module;
  /** Where the regions lie. */
  readonly layout: AccumulatorLayout;
  /** The (C, z, y, x) sums, from byte 0 of the memory. */
  readonly sum: Float32Array;
  /** The grid's (z, y, x) sums of weights. */
  readonly grid: Float32Array;
  /** The tile weights. */
  readonly weights: Float32Array;
  /** The tile region. */
  readonly tile: Float32Array;
  readonly #kernels: Kernels;

  private constructor(memory: WebAssembly.Memory, module: WebAssembly.Module, layout: AccumulatorLayout) {
    this.memory = memory;
    this.module = module;
    this.layout = layout;
    const buffer = memory.buffer;
    this.sum = new Float32Array(buffer, 0, layout.sum);
    this.grid = new Float32Array(buffer, layout.grid * 4, layout.voxels);
    this.weights = new Float32Array(buffer, layout.weights * 4, layout.patch);
    this.tile = new Float32Array(buffer, layout.tile * 4, layout.roundClasses * layout.patch);
    this.#kernels = instantiateKernel(memory, module);
  }

  /**
   * A memory for `classes` over a grid of `voxels` with the tile `weights`
   * copied in, or undefined where the kernels cannot run here or the whole
   * does not fit in 4 GiB (the caller then keeps the JavaScript kernels).
   */
  static create(classes: number, voxels: number, weights: Float32Array): AccumulatorMemory | undefined {
    const layout = accumulatorLayout(classes, voxels, weights.length);
    if (layout.bytes > WASM_MAX_BYTES) return undefined;
    const module = kernelModule();
    if (!module) return undefined;
    const pages = pagesFor(layout.bytes);
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch {
      return undefined; // the runtime refused that much (a browser tab's limit)
    }
    const m = new AccumulatorMemory(memory, module, layout);
    m.weights.set(weights);
    new Float32Array(memory.buffer, layout.ones * 4, layout.patch).fill(1);
    return m;
  }

  /** The same memory seen from another thread (a worker's copy of the kernels). */
  static attach(memory: WebAssembly.Memory, module: WebAssembly.Module, layout: AccumulatorLayout): AccumulatorMemory {
    return new AccumulatorMemory(memory, module, layout);
  }

  /** The rounds `[c0, c1)` in which a tile of `classes` passes through the tile region. */
  rounds(classes: number): [number, number][] {
    const out: [number, number][] = [];
    for (let c = 0; c < classes; c += this.layout.roundClasses) {
      out.push([c, Math.min(classes, c + this.layout.roundClasses)]);
    }
    return out;
  }

  /** Copies classes `[c0, c1)` of a (C, …) tile into the tile region, which holds classes from `first` on. */
  load(logits: Float32Array, c0: number, c1: number, first: number): void {
    const pn = this.layout.patch;
    if (c0 < first || c1 - first > this.layout.roundClasses) {
      throw new RangeError(`classes ${c0}-${c1} do not fit the tile region from class ${first}`);
    }
    this.tile.set(logits.subarray(c0 * pn, c1 * pn), (c0 - first) * pn);
  }

  /**
   * Divides every class's unpadded box of sums (the grid of `shape` less
   * `pad` voxels before and after on each axis) by the grid's sums of
   * weights, packing the results from the start of `sum` (as
   * `LogitAccumulator.finish` does); returns the floats written.
   */
  divide(classes: number, shape: readonly number[], pad: readonly (readonly [number, number])[]): number {
    const [nz, ny, nx] = shape;
    const out = shape.map((s, k) => s - pad[k][0] - pad[k][1]);
    if (classes * nz * ny * nx > this.layout.sum || nz * ny * nx !== this.layout.voxels || out.some((o) => o < 0)) {
      throw new RangeError(`cannot divide ${classes} classes of ${shape.join("x")} less ${JSON.stringify(pad)}`);
    }
    const l = this.layout;
    this.#kernels.divide(
      0,
      l.grid * 4,
      classes,
      l.voxels,
      ny,
      nx,
      out[0],
      out[1],
      out[2],
      pad[0][0],
      pad[1][0],
      pad[2][0],
    );
    return classes * out[0] * out[1] * out[2];
  }

  /**
   * Divides classes `[c0, c1)` of a grid of `shape` without padding by the
   * grid's sums of weights, in place (each class apart from the others, so
   * threads may take ranges of classes at once; the results are those of
   * {@linkcode AccumulatorMemory.divide} with no padding).
   */
  divideClasses(c0: number, c1: number, shape: readonly number[]): void {
    const [nz, ny, nx] = shape;
    const n = nz * ny * nx;
    if (c0 < 0 || c1 < c0 || c1 * n > this.layout.sum || n !== this.layout.voxels) {
      throw new RangeError(`cannot divide classes ${c0}-${c1} of ${shape.join("x")}`);
    }
    if (c1 === c0) return;
    this.#kernels.divide(c0 * n * 4, this.layout.grid * 4, c1 - c0, n, ny, nx, nz, ny, nx, 0, 0, 0);
  }

  /** Adds the tile weights into the grid's sums of weights at the tile's place (`w += weight`, as one class of ones). */
  addWeights(geo: TileGeometry): void {
    this.#check(geo, 0, 1, 0, this.grid.length);
    const [, ny, nx] = geo.shape;
    const [pz, py, px] = geo.patch;
    const [s0, s1, s2] = geo.start;
    const l = this.layout;
    this.#kernels.rows(
      l.grid * 4,
      l.ones * 4,
      l.weights * 4,
      this.grid.length,
      ny,
      nx,
      pz,
      py,
      px,
      s0,
      s1,
      s2,
      0,
      1,
      0,
    );
  }

  #check(geo: TileGeometry, c0: number, c1: number, first: number, floats: number): void {
    // The kernels write where they are told: a tile past the grid would reach the next region.
    const cells = geo.shape[0] * geo.shape[1] * geo.shape[2], patch = geo.patch[0] * geo.patch[1] * geo.patch[2];
    if (
      geo.start.some((s, k) => s < 0 || s + geo.patch[k] > geo.shape[k]) || patch !== this.layout.patch ||
      c0 < first || c1 - first > this.layout.roundClasses || c1 * cells > floats
    ) {
      throw new RangeError(
        `tile at ${geo.start.join(",")} of ${geo.patch.join("x")} (classes ${c0}-${c1}) reaches past the grid ${
          geo.shape.join("x")
        } or the tile region`,
      );
    }
  }

  /**
   * Adds classes `[c0, c1)` of the tile region (which holds classes from
   * `first` on) into the sums at the tile's place: (C, z, y, x) logits as
   * `addRows` does, four floats at a time, or with `xyz` (C, x, y, z) logits
   * as `addXyzBlocks` does, transposed in 4x4 blocks.
   */
  add(geo: TileGeometry, c0: number, c1: number, first: number, xyz = false): void {
    this.#check(geo, c0, c1, first, this.layout.sum);
    const cells = geo.shape[0] * geo.shape[1] * geo.shape[2];
    const [, ny, nx] = geo.shape;
    const [pz, py, px] = geo.patch;
    const kernel = xyz ? this.#kernels.xyz : this.#kernels.rows;
    const [s0, s1, s2] = geo.start;
    kernel(0, this.layout.tile * 4, this.layout.weights * 4, cells, ny, nx, pz, py, px, s0, s1, s2, c0, c1, first);
  }
}
