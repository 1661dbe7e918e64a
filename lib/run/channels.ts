/**
 * Multi-channel inputs (e.g. BraTS t1c, t1n, t2f, t2w): one file per channel
 * given as `-i a,b,c,d` in the card's channel order, or one 4-D file with a
 * volume per channel; the channels must share one grid. In batches the
 * channels of one subject are found by their file-name suffixes
 * ({@linkcode groupChannelFiles}, also meant for the BIDS mode). The checks and
 * the stacking are `channel_stack.ts`'s (shared with the browser tab).
 *
 * @module
 */
import { basename, dirname, join } from "../core/_std.ts";
import { stemOf } from "./batch.ts";
import { isFileSync } from "../core/fsutil.ts";
import { readVolume } from "../io/read.ts";
import type { ModelCard } from "../cards/card.ts";
import { channelsOf4D, checkChannelCount, checkSameGrid, stackChannels } from "./channel_stack.ts";
import { type Volume } from "../core/types.ts";

export { checkSameGrid };

/**
 * The channel files named by an input: a comma-separated list, split unless
 * a file with that exact name (commas included) exists.
 */
export function splitChannels(input: string): string[] {
  if (!input.includes(",") || isFileSync(input)) return [input];
  return input.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * Reads an input for a card: one 3-D volume for a one-channel card; for a
 * K-channel card either K files (comma-separated, in the card's order) or
 * one 4-D file with K volumes, returned as one (x, y, z, K) volume.
 */
export async function readChannels(input: string, card: ModelCard): Promise<Volume> {
  const paths = splitChannels(input);
  checkChannelCount(paths.length, card, input);
  if (card.input.channels === 1) return await readVolume(paths[0]);
  if (paths.length === 1) return channelsOf4D(await readVolume(paths[0], { allow4D: true }), paths[0], card);
  const vols: Volume[] = [];
  for (const p of paths) {
    const v = await readVolume(p);
    if (vols.length) checkSameGrid(vols[0], paths[0], v, p);
    vols.push(v);
  }
  return stackChannels(vols, paths, card);
}

/** The channels of one subject, found by suffix. */
export interface ChannelGroup {
  /** The subject's name: the file stem without the channel suffix (and its separator). */
  subject: string;
  /** Channel files in the card's order. */
  paths: string[];
}

/** Result of {@linkcode groupChannelFiles}. */
export interface ChannelGrouping {
  /** Complete subjects, in the order first seen. */
  groups: ChannelGroup[];
  /** Subjects missing channels, with what is missing (one line each). */
  incomplete: string[];
  /** Files whose name ends in no channel suffix. */
  unmatched: string[];
}

/**
 * Groups files into subjects by channel suffix: a file whose stem ends in
 * `-NAME`, `_NAME` or `.NAME` (case-insensitive) is channel NAME of the
 * subject named by the rest of the stem in the same folder
 * (`BraTS-GLI-00000-000-t1c.nii.gz`, `sub-01_t2f.nii.gz`); the longest
 * matching suffix wins, so BIDS-style names such as `ce-gadolinium_T1w`
 * and `T1w` can be told apart. Subjects lacking a channel are listed in
 * `incomplete`. The BIDS mode can call this with its own suffixes.
 */
export function groupChannelFiles(paths: string[], names: string[]): ChannelGrouping {
  const bySubject = new Map<string, (string | undefined)[]>();
  const unmatched: string[] = [];
  const lower = names.map((n) => n.toLowerCase());
  const byLength = names.map((_, k) => k).sort((a, b) => lower[b].length - lower[a].length);
  for (const p of paths) {
    const stem = stemOf(p);
    const l = stem.toLowerCase();
    // The longest matching suffix wins (`ce-gd_T1w` before `T1w`).
    const c = byLength.find((k) => {
      const n = lower[k];
      return l.length > n.length + 1 && l.endsWith(n) && "-_.".includes(l[l.length - n.length - 1]);
    }) ?? -1;
    if (c < 0) {
      unmatched.push(p);
      continue;
    }
    const key = join(dirname(p), stem.slice(0, stem.length - names[c].length - 1));
    const slots = bySubject.get(key) ?? new Array(names.length).fill(undefined);
    if (slots[c] !== undefined) {
      unmatched.push(p);
      continue;
    }
    slots[c] = p;
    bySubject.set(key, slots);
  }
  const groups: ChannelGroup[] = [];
  const incomplete: string[] = [];
  for (const [key, slots] of bySubject) {
    const missing = names.filter((_, c) => slots[c] === undefined);
    if (missing.length) incomplete.push(`${key}: no ${missing.join(", ")} channel`);
    else groups.push({ subject: basename(key), paths: slots as string[] });
  }
  return { groups, incomplete, unmatched };
}
