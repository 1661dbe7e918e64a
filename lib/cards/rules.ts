/**
 * What a card allows: its working spacing (named spacings), patch
 * divisibility, and the memory model behind the automatic patch choice.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import type { ModelCard } from "./card.ts";

/**
 * The target spacing (z, y, x): a number (isotropic mm), a name from the
 * card's `spacings`, or the card's default. Unknown names are a usage error
 * listing the card's names.
 */
export function spacingOf(card: ModelCard, choice?: number | string): [number, number, number] {
  if (typeof choice === "number") return [choice, choice, choice];
  if (choice === undefined) return [...card.spacing];
  const s = card.spacings?.[choice];
  if (!s) {
    const names = Object.keys(card.spacings ?? {});
    throw new UsageError(
      `-u ${choice}: the ${card.name} card has ${
        names.length ? `named spacings ${names.join(", ")}` : "no named spacings"
      } (or give millimetres)`,
    );
  }
  return [...s];
}

/**
 * Estimated peak memory (bytes) of a CPU run with this patch, from the
 * card's memory model (`memory`); undefined for a card without one. SIAM's
 * (measured with `deno task bench` on the siam-v0.3 preset without the
 * arena: 10.4 GiB at 256x256x192, 3.8 GiB at 128^3, ch2, one fold) is about
 * 2 GiB plus 0.7 kB per patch voxel.
 */
export function estimatePeakBytes(card: ModelCard, patch: number[]): number | undefined {
  if (!card.memory) return undefined;
  return card.memory.baseBytes + card.memory.bytesPerVoxel * patch[0] * patch[1] * patch[2];
}

/**
 * The patch to use when none was asked for: the card's default if its
 * estimated peak fits in `availableBytes` (with 10% to spare), else the
 * low-memory patch, else the smallest valid patch that fits (at least the
 * patch multiple). Returns the patch and whether it was reduced. A card
 * without a memory model keeps its patch.
 */
export function choosePatch(
  card: ModelCard,
  availableBytes: number,
): { patch: [number, number, number]; reduced: boolean } {
  const fits = (p: number[]) => (estimatePeakBytes(card, p) ?? 0) <= availableBytes * 0.9;
  if (fits(card.patch)) return { patch: [...card.patch], reduced: false };
  if (fits(card.lowmemPatch)) return { patch: [...card.lowmemPatch], reduced: true };
  let p = [...card.lowmemPatch] as [number, number, number];
  while (!fits(p)) {
    const next = p.map((v, k) =>
      Math.max(card.patchMultiple[k], Math.floor(v / 2 / card.patchMultiple[k]) * card.patchMultiple[k])
    ) as [number, number, number];
    if (next.every((v, k) => v === p[k])) break;
    p = next;
  }
  return { patch: p, reduced: true };
}

/** Checks a patch against the card's divisibility; the message names the nearest valid sizes. */
export function checkPatch(card: ModelCard, patch: number[]): string | undefined {
  const axes = ["Z", "Y", "X"];
  const bad = patch.map((p, k) => p % card.patchMultiple[k] !== 0 ? k : -1).filter((k) => k >= 0);
  if (!bad.length) return undefined;
  const nearest = patch.map((p, k) => {
    const m = card.patchMultiple[k];
    return Math.max(m, Math.round(p / m) * m);
  });
  return `patch ${patch.join("x")} is not valid for ${card.name} ${card.version}: ` +
    bad.map((k) => `${axes[k]} must be a multiple of ${card.patchMultiple[k]}`).join(", ") +
    `; nearest valid: ${nearest.join("x")}`;
}
