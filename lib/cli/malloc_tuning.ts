/**
 * glibc's allocator tuned for large buffers, for the `siamize` command.
 *
 * The network's intermediate tensors and the tile accumulators are large
 * (a full-size SIAM tile's first-level activations are 1.6 GB each; a MONAI
 * CT tile's probabilities 387 MB), and ONNX Runtime allocates them with
 * `malloc` on every run (its CPU arena is off to bound the peak). glibc
 * serves such sizes with a fresh `mmap` and returns them with `munmap`, so
 * every run pays a page fault per 4 KiB of them again; where faults are
 * dear (virtual machines) that, not arithmetic, takes most of the time
 * (measured: `docs/performance.md#memory-reuse`). Where the kernel gives
 * transparent huge pages on request (its setting `madvise` or `always`), the
 * tunables are {@linkcode MALLOC_TUNABLES}: blocks of 32 MiB and more still
 * come from `mmap` and go back when freed (the peak stays that of an untuned
 * process), but as 2 MiB pages (`hugetlb=1`: 512 times fewer faults); smaller
 * blocks come from the heap and stay there when freed (`mmap_threshold`,
 * `trim_threshold`). Where it does not (`never`), huge pages cannot help, and
 * {@linkcode MALLOC_TUNABLES_NO_THP} keeps every block on the heap instead:
 * as fast, but freed blocks fragment the heap and a full-size tile peaks
 * higher (see {@linkcode mallocPeakScale}). glibc reads tunables only when a
 * process starts, so the command, when it is the main program on Linux with
 * glibc and FFI allowed, re-executes itself once at start-up, before anything
 * is read or written, with them added: the same process (`execve`: same PID,
 * terminal and exit status) and arguments. `SIAMIZE_MALLOC_TUNING=0` turns it
 * off; where it cannot run (another OS or C library, no FFI permission),
 * nothing changes; a program importing `mod.ts` can set `GLIBC_TUNABLES` (see
 * {@linkcode MALLOC_TUNABLES_VALUE}) itself before it starts.
 *
 * @module
 */
import { concatBytes } from "../core/bytes.ts";

/**
 * The tunables added to `GLIBC_TUNABLES` where the kernel gives transparent
 * huge pages on request: 2 MiB pages, large blocks mapped afresh, small ones
 * kept on the heap.
 */
export const MALLOC_TUNABLES: readonly string[] = [
  "glibc.malloc.hugetlb=1",
  "glibc.malloc.mmap_threshold=33554432",
  "glibc.malloc.trim_threshold=17179869184",
];

/** The tunables added where transparent huge pages are off: every block kept on the heap. */
export const MALLOC_TUNABLES_NO_THP: readonly string[] = [
  "glibc.malloc.mmap_threshold=4294967296",
  "glibc.malloc.trim_threshold=17179869184",
];

/** `GLIBC_TUNABLES`'s value with {@linkcode MALLOC_TUNABLES} only. */
export const MALLOC_TUNABLES_VALUE: string = MALLOC_TUNABLES.join(":");

/** `GLIBC_TUNABLES`'s value with {@linkcode MALLOC_TUNABLES_NO_THP} only. */
export const MALLOC_TUNABLES_NO_THP_VALUE: string = MALLOC_TUNABLES_NO_THP.join(":");

/** What {@linkcode mallocPlan} decided. */
export type MallocPlan =
  | { exec: true; env: string[] }
  | { exec: false; why: string };

/** Inputs of {@linkcode mallocPlan}, read from `/proc` and `/sys`. */
export interface ProcessFacts {
  /** `Deno.build.os`. */
  os: string;
  /** The environment as `KEY=VALUE` entries (`/proc/self/environ`). */
  environ: string[];
  /** `/sys/kernel/mm/transparent_hugepage/enabled`, or undefined where unreadable. */
  thp?: string;
  /** Whether the C library is glibc (the tunable's owner). */
  glibc: boolean;
}

/** The kernel's transparent huge page mode (the bracketed word), or undefined where unknown. */
export function thpMode(thp: string | undefined): string | undefined {
  return thp?.match(/\[(\w+)\]/)?.[1];
}

/**
 * The tunables for a kernel: {@linkcode MALLOC_TUNABLES_NO_THP} where its
 * huge pages are off (`never`), else {@linkcode MALLOC_TUNABLES} (also where
 * the setting is unreadable: `hugetlb=1` is harmless where unsupported).
 */
export function tunablesFor(thp: string | undefined): readonly string[] {
  return thpMode(thp) === "never" ? MALLOC_TUNABLES_NO_THP : MALLOC_TUNABLES;
}

/**
 * Whether to re-execute with the tunables, and the environment to do it
 * with (pure: the decision alone, for tests).
 */
export function mallocPlan(f: ProcessFacts): MallocPlan {
  if (f.os !== "linux") return { exec: false, why: `not on Linux (${f.os})` };
  if (!f.glibc) return { exec: false, why: "the C library is not glibc" };
  if (!f.environ.length || f.environ.some((e) => e.indexOf("=") < 1)) {
    return { exec: false, why: "the environment could not be read" };
  }
  const get = (k: string) => f.environ.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1);
  if (get("SIAMIZE_MALLOC_TUNING") === "0") return { exec: false, why: "off (SIAMIZE_MALLOC_TUNING=0)" };
  const tunables = get("GLIBC_TUNABLES");
  const set = tunables?.split(":") ?? [];
  if ([MALLOC_TUNABLES, MALLOC_TUNABLES_NO_THP].some((ts) => ts.every((t) => set.includes(t)))) {
    return { exec: false, why: "on" };
  }
  const ours = [...MALLOC_TUNABLES, ...MALLOC_TUNABLES_NO_THP].map((t) => t.slice(0, t.indexOf("=") + 1));
  if (set.some((t) => ours.some((o) => t.startsWith(o)))) {
    return { exec: false, why: `left as set (GLIBC_TUNABLES=${tunables})` };
  }
  const add = tunablesFor(f.thp).join(":");
  const value = tunables ? `${tunables}:${add}` : add;
  return { exec: true, env: [...f.environ.filter((e) => !e.startsWith("GLIBC_TUNABLES=")), `GLIBC_TUNABLES=${value}`] };
}

const LIBC = {
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  gnu_get_libc_version: { parameters: [], result: "pointer" },
  environ: { type: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC>["symbols"];

/**
 * glibc through FFI (undefined without FFI permission, off Linux, or with
 * another C library). Deno's own file API refuses `/proc/self` without
 * `--allow-all`; the C library reads this process's own command line and
 * environment with the FFI permission the command already has.
 */
function openLibc(): Deno.DynamicLibrary<typeof LIBC> | undefined {
  try {
    if (Deno.build.os !== "linux") return undefined;
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    return Deno.dlopen("libc.so.6", LIBC);
  } catch {
    return undefined;
  }
}

/** A whole small file read with the C library (`/proc` files report no size). */
function readWithLibc(libc: Libc, path: string): Uint8Array | undefined {
  const fd = libc.open(cString(path), 0);
  if (fd < 0) return undefined;
  const parts: Uint8Array[] = [];
  try {
    for (let total = 0; total < 1 << 22;) {
      const buf = new Uint8Array(65536);
      const n = Number(libc.read(fd, buf, BigInt(buf.length)));
      if (n <= 0) break;
      parts.push(buf.subarray(0, n));
      total += n;
    }
  } finally {
    libc.close(fd);
  }
  return concatBytes(parts);
}

/** NUL-separated strings (a trailing NUL ends the last one). */
function splitNul(bytes: Uint8Array): string[] {
  const text = new TextDecoder().decode(bytes);
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

/** The environment from the C library's `environ` (what `execve` passes on). */
function environOf(libc: Libc): string[] {
  const env: string[] = [];
  // The static is the address of `environ`; its value is the `char**` table.
  const address = libc.environ;
  const table = address ? new Deno.UnsafePointerView(address).getPointer(0) : null;
  if (!table) return env;
  const view = new Deno.UnsafePointerView(table);
  for (let i = 0; i < 1 << 16; i++) {
    const p = view.getPointer(i * 8);
    if (!p) break;
    env.push(Deno.UnsafePointerView.getCString(p));
  }
  return env;
}

function kernelThp(libc: Libc | undefined): string | undefined {
  const path = "/sys/kernel/mm/transparent_hugepage/enabled";
  const bytes = libc ? readWithLibc(libc, path) : undefined;
  return bytes ? new TextDecoder().decode(bytes) : undefined;
}

/** The facts read through `libc` (none without it). */
function factsOf(libc: Libc | undefined): ProcessFacts {
  return {
    os: Deno.build.os,
    environ: libc ? environOf(libc) : [],
    thp: kernelThp(libc),
    glibc: libc !== undefined,
  };
}

/** The facts of this process, read with the C library (empty where it cannot be reached). */
export function processFacts(): ProcessFacts {
  const lib = openLibc();
  try {
    return factsOf(lib?.symbols);
  } finally {
    lib?.close();
  }
}

/**
 * The factor on a card's peak-memory estimate in a tuned process with every
 * block kept on the heap ({@linkcode MALLOC_TUNABLES_NO_THP}; see
 * `Segmenter`'s `peakScale`): one 256x256x192 tile of the fp16 siam-v0.3
 * preset peaked at 7.59 GiB untuned and at 12.07 to 18.01 GiB with that
 * heap (four runs), against the card's estimate of 10.2 GiB
 * (docs/performance.md#memory-reuse). With {@linkcode MALLOC_TUNABLES} the
 * large blocks go back when freed, and the peak is an untuned process's
 * (7.71 GiB, two runs): no factor.
 */
export const TUNED_PEAK_SCALE = 1.8;

/** Which tunables the process runs with: `thp`, `heap` (every block kept on the heap), or none. */
function tunedWith(f: ProcessFacts): "thp" | "heap" | undefined {
  const plan = mallocPlan(f);
  if (plan.exec || plan.why !== "on") return undefined;
  const set = f.environ.find((e) => e.startsWith("GLIBC_TUNABLES="))?.slice(15).split(":") ?? [];
  return MALLOC_TUNABLES.every((t) => set.includes(t)) ? "thp" : "heap";
}

/** Whether this process runs with the tunables (the re-exec happened, or the user set exactly them). */
export function mallocTuned(f: ProcessFacts = processFacts()): boolean {
  return tunedWith(f) !== undefined;
}

/** The factor on peak-memory estimates for this process: {@linkcode TUNED_PEAK_SCALE} with every block on the heap, else 1. */
export function mallocPeakScale(f: ProcessFacts = processFacts()): number {
  return tunedWith(f) === "heap" ? TUNED_PEAK_SCALE : 1;
}

/** What `siamize doctor` prints about the allocator's tuning. */
export function mallocStatus(f: ProcessFacts = processFacts()): string {
  const plan = mallocPlan(f);
  if (!f.glibc) return "off (needs glibc on Linux and --allow-ffi)";
  if (plan.exec) return "off (not re-executed: siamize was imported, not run as the command)";
  if (plan.why !== "on") return plan.why;
  const value = tunedWith(f) === "thp" ? MALLOC_TUNABLES_VALUE : MALLOC_TUNABLES_NO_THP_VALUE;
  return `on (GLIBC_TUNABLES has ${value}; transparent huge pages: ${thpMode(f.thp) ?? "unknown"})`;
}

function cString(s: string): Uint8Array<ArrayBuffer> {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** A NULL-terminated `char*[]` over `strings`; `keep` holds the buffers alive. */
function cArray(strings: string[], keep: unknown[]): BigUint64Array<ArrayBuffer> {
  const arr = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => {
    const c = cString(s);
    keep.push(c);
    arr[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(c)));
  });
  return arr;
}

/**
 * Re-executes this process with the allocator's tunables when
 * {@linkcode mallocPlan} says so. Returns only where it does not (or
 * where `execve` fails), and then nothing has changed.
 */
export function reexecWithMallocTuning(): void {
  const lib = openLibc();
  if (!lib) return;
  try {
    const libc = lib.symbols;
    // The kernel's huge-page setting picks the tunables (one small read).
    const plan = mallocPlan(factsOf(libc));
    if (!plan.exec) return;
    const cmdline = readWithLibc(libc, "/proc/self/cmdline");
    const exe = Deno.execPath();
    if (!cmdline?.length || !exe) return;
    const keep: unknown[] = [];
    libc.execve(cString(exe), cArray(splitNul(cmdline), keep), cArray(plan.env, keep));
    // execve returned: it failed; carry on as we are.
  } catch {
    // No permission for the executable's path: carry on as we are.
  } finally {
    lib.close();
  }
}
