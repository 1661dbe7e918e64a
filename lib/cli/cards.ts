/**
 * CLI helpers for model cards: the `siamize cards` listing and the
 * per-subject grouping of multi-channel inputs in folder batches.
 *
 * @module
 */
import { groupChannelFiles } from "../run/channels.ts";
import { type ModelCard } from "../cards/card.ts";
import { inferenceOf } from "../cards/parse.ts";
import { SHIPPED_CARDS, shippedCard } from "../cards/shipped.ts";
import { SAMRI_VIT_B } from "../prompt/card.ts";

/**
 * The `siamize cards` text: one line per shipped card (id, channels,
 * classes, spacing, inference mode, name and version).
 *
 * @example
 * ```ts
 * import { cardsTable } from "./cards.ts";
 *
 * console.log(cardsTable().split("\n").length); // 4 (a header and 3 cards)
 * ```
 */
export function cardsTable(): string {
  const rows = SHIPPED_CARDS.map((id) => {
    const c = shippedCard(id)!;
    const inf = inferenceOf(c);
    const channels = c.input.names ? `${c.input.channels} (${c.input.names.join(",")})` : `${c.input.channels}`;
    const spacing = c.resampling.method === "none"
      ? "input grid"
      : [`${c.spacing[0]} mm`, ...Object.keys(c.spacings ?? {})].join(" | ");
    const mode = inf.mode === "whole" ? "whole volume" : `${c.patch.join("x")} tiles`;
    return [id, channels, String(c.classes.length), spacing, mode, `${c.name} ${c.version}`];
  });
  const head = ["card", "channels", "classes", "spacing", "inference", "model"];
  const all = [head, ...rows];
  const w = head.map((_, k) => Math.max(...all.map((r) => r[k].length)));
  return all.map((r) => r.map((v, k) => (k < r.length - 1 ? v.padEnd(w[k]) : v)).join("  ")).join("\n");
}

/**
 * The `siamize cards` lines for the shipped `prompt-2d` cards (run by
 * `siamize prompt`).
 *
 * @example
 * ```ts
 * import { promptCardsTable } from "./cards.ts";
 *
 * console.log(promptCardsTable().split("\n")[1].startsWith("samri-vit-b")); // true
 * ```
 */
export function promptCardsTable(): string {
  const c = SAMRI_VIT_B;
  const weights = c.weights.available ? "" : ", weights: export them (docs/samri.md)";
  return [
    "prompt cards (siamize prompt):",
    `${c.id}  2-D slice, box/point prompts, ${c.longSide}² encoder  ${c.name} ${c.version}${weights}`,
  ].join("\n");
}

/**
 * For a multi-channel card, the folder batch's inputs grouped per subject
 * (`input` is the comma-joined channel files in the card's order, `stem`
 * the subject name for the output) and one line per file or subject that
 * cannot be used; undefined for a one-channel card.
 */
export function folderChannelInputs(
  paths: string[],
  card: ModelCard,
): { inputs: { input: string; stem: string }[]; problems: string[] } | undefined {
  if (card.input.channels === 1) return undefined;
  const names = card.input.names ?? [];
  if (names.length !== card.input.channels) {
    return { inputs: [], problems: [`the ${card.name} card names no channels (input.names): cannot group files`] };
  }
  const g = groupChannelFiles(paths, names);
  return {
    inputs: g.groups.map((x) => ({ input: x.paths.join(","), stem: x.subject })),
    problems: [
      ...g.incomplete,
      ...g.unmatched.map((p) => `${p}: no channel suffix (${names.join(", ")})`),
    ],
  };
}
