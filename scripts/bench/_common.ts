/**
 * What the bench scripts share: the repository root, the median they
 * tabulate, a wall-clock timer, peak RSS and its GiB formatting.
 *
 * @module
 */
import { fromFileUrl } from "../../lib/core/_std.ts";
import { peakRss as reportedPeakRss } from "../../lib/run/report.ts";

/** The repository root. */
export const ROOT: string = fromFileUrl(new URL("../..", import.meta.url));

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `f` and returns its wall time in seconds with its result. */
export async function time<T>(f: () => Promise<T> | T): Promise<[number, T]> {
  const t = performance.now();
  const r = await f();
  return [(performance.now() - t) / 1000, r];
}

/** Peak resident set size of this process in bytes (current RSS where the peak is unknown). */
export function peakRss(): number {
  return reportedPeakRss() ?? Deno.memoryUsage().rss;
}

/** Bytes as GiB with two decimals (`NaN` for unknown). */
export function gib(bytes: number | null | undefined): string {
  return ((bytes ?? NaN) / 2 ** 30).toFixed(2);
}
