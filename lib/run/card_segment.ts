/**
 * The {@linkcode Segmenter}'s path for cards other than nnU-Net's
 * single-channel one (MONAI CT, multi-channel BraTS): the card pipeline of
 * `lib/card_pipeline.ts` over the segmenter's sessions.
 *
 * @module
 */
import { cardProbabilities, finishCard, predictCard, prepareCard } from "./card_pipeline.ts";
import { UsageError } from "../core/errors.ts";
import type { Volume } from "../io/nifti.ts";
import type { FoldRun, Segmenter, SegmentResult } from "./segment.ts";
import { tissueVolumes } from "../outputs/volumes.ts";

const now = () => performance.now() / 1000;

/**
 * Segments an already read volume (3-D, or 4-D with one volume per
 * channel) with the segmenter's card and models. `times.start` is when the
 * call began and `times.read` the seconds spent reading.
 */
export async function segmentWithCard(
  seg: Segmenter,
  volume: Volume,
  label: string,
  times: { start: number; read: number },
): Promise<SegmentResult> {
  const card = seg.card;
  const o = seg.options;
  if (o.upsample) throw new UsageError(`--upsample is not available with the ${card.name} card`);
  if (o.classes === "spm") throw new UsageError(`-C spm: the ${card.name} card has no SPM merge`);
  const t0 = now();
  await seg.session(0);
  const load = now() - t0;
  const cfg = seg.config;
  const tPre0 = now();
  const prep = prepareCard(volume, card, cfg.spacing, label || "input");
  const tPre = now();
  const folds = seg.models.length;
  const run: FoldRun = { load: 0, provider: "" };
  const out = await predictCard(prep, seg.folds(run), card, seg.patch, {
    signal: o.signal,
    folds,
    onTile: (p) => o.onProgress?.({ fold: p.fold, folds, tile: p.tile, tiles: p.tiles }),
  });
  const tInf = now();
  const labels = await finishCard(prep, out.logits, out.classes, card, seg.threads);
  const probabilities = o.tpm ? cardProbabilities(prep, out.logits, out.classes, card, o.tpmT ?? 1) : undefined;
  const tPost = now();
  return {
    labels,
    probabilities,
    input: volume,
    volumes: tissueVolumes(labels, card.classes, card.intracranial, label),
    labelTable: card.classes,
    provider: run.provider,
    adapter: run.adapter,
    threads: seg.threads,
    patch: card.inference?.mode === "whole" ? prep.resampledShape : seg.patch,
    tiles: out.tiles,
    models: seg.models.map((m) => m.path),
    geometry: {
      box: prep.box.map((b) => [...b]),
      cropped: prep.croppedShape,
      resampled: prep.resampledShape,
      spacing: prep.spacing,
      nonFinite: prep.nonFinite,
    },
    timings: {
      read: times.read,
      load: load + run.load,
      preprocess: tPre - tPre0,
      inference: out.inferenceSeconds,
      // The tile loop outside the network (padding, tiles, blending), so the stages add up to the total.
      accumulate: Math.max(0, tInf - tPre - out.inferenceSeconds - run.load),
      postprocess: tPost - tInf,
      total: tPost - times.start,
    },
  };
}
