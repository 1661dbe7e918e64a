/**
 * A card's input channels from volumes already read: the count checked
 * against the card, every grid checked against the first, the channels
 * stacked into one (x, y, z, K) volume. No file system: the CLI
 * (`channels.ts`, which reads the files) and the browser tab (which reads
 * picked files' bytes) share these checks and this stacking.
 *
 * @module
 */
import { maxAbsDiff } from "../geometry/affine.ts";
import { InputError } from "../core/errors.ts";
import type { ModelCard } from "../cards/card.ts";
import { makeVolume } from "../io/volume.ts";
import type { Volume } from "../core/types.ts";

/** The card's channel names (`card.input.names`, else `channel 0`, `channel 1`, …). */
export function channelNames(card: ModelCard): string[] {
  return card.input.names ?? Array.from({ length: card.input.channels }, (_, i) => `channel ${i}`);
}

/**
 * Checks that `count` files were given for a K-channel card (K files, or
 * one 4-D file); throws an error naming `input` otherwise.
 */
export function checkChannelCount(count: number, card: ModelCard, input: string): void {
  const k = card.input.channels;
  if (k === 1 && count !== 1) throw new InputError(input, `the ${card.name} card takes one image, got ${count}`);
  if (k > 1 && count !== 1 && count !== k) {
    throw new InputError(input, `${count} files; the ${card.name} card needs ${k} (${channelNames(card).join(", ")})`);
  }
}

/**
 * Checks that `other` has the grid of `first` (same voxel dims, affines
 * within 1e-4 mm); throws an error naming `other` otherwise.
 */
export function checkSameGrid(first: Volume, firstPath: string, other: Volume, otherPath: string): void {
  const a = first.dims.slice(0, 3), b = other.dims.slice(0, 3);
  if (a.some((d, k) => d !== b[k])) {
    throw new InputError(
      otherPath,
      `grid ${b.join("x")} differs from ${firstPath} (${a.join("x")}); channels must share one grid`,
    );
  }
  const d = maxAbsDiff(first.affine, other.affine);
  if (!(d <= 1e-4)) {
    throw new InputError(
      otherPath,
      `affine differs from ${firstPath}'s by up to ${d.toPrecision(3)} mm; channels must share one grid`,
    );
  }
}

/** One 4-D volume (read with 4-D allowed) as a K-channel input; throws naming `path` when it has not K volumes. */
export function channelsOf4D(v: Volume, path: string, card: ModelCard): Volume {
  const k = card.input.channels;
  const c = v.dims.length > 3 ? v.dims[3] : 1;
  if (c !== k) {
    throw new InputError(
      path,
      `${c} volume(s); the ${card.name} card needs ${k} channels (${
        channelNames(card).join(", ")
      }): give a 4-D file with ${k} volumes or ${k} files separated by commas`,
    );
  }
  return makeVolume(v.data, [...v.dims.slice(0, 3), k], v.affine, v.header);
}

/**
 * Stacks K volumes (one per channel, in the card's order; `paths` name
 * them in errors) into one (x, y, z, K) float32 volume on the first's grid.
 */
export function stackChannels(vols: Volume[], paths: string[], card: ModelCard): Volume {
  checkChannelCount(vols.length, card, paths.join(","));
  for (let c = 1; c < vols.length; c++) checkSameGrid(vols[0], paths[0], vols[c], paths[c]);
  const n = vols[0].dims[0] * vols[0].dims[1] * vols[0].dims[2];
  const data = new Float32Array(vols.length * n);
  vols.forEach((v, c) => data.set(v.data, c * n));
  return makeVolume(data, [...vols[0].dims.slice(0, 3), vols.length], vols[0].affine, vols[0].header);
}
