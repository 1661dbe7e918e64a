/**
 * The cards shipped with the package (`models/*.json`), and `--card NAME|FILE`.
 *
 * @module
 */
import siam03 from "../../models/siam-v0.3.json" with { type: "json" };
import monaiCt from "../../models/monai-wholebody-ct.json" with { type: "json" };
import hnosegXs from "../../models/hnoseg-xs-brats.json" with { type: "json" };
import { UsageError } from "../core/errors.ts";
import type { ModelCard } from "./card.ts";
import { loadCard, validateCard } from "./parse.ts";

/**
 * The SIAM v0.3 card shipped with the package.
 *
 * @example
 * ```ts
 * import { SIAM_V03 } from "./shipped.ts";
 *
 * console.log(SIAM_V03.classes.length, SIAM_V03.classes[1].name, SIAM_V03.patch); // 18 "gray matter" [256, 256, 192]
 * ```
 */
export const SIAM_V03: ModelCard = validateCard(siam03 as unknown, "models/siam-v0.3.json");

/** The cards shipped with the package (`models/NAME.json`), by id, as parsed JSON. */
const SHIPPED: Record<string, unknown> = {
  "siam-v0.3": siam03,
  "monai-wholebody-ct": monaiCt,
  "hnoseg-xs-brats": hnosegXs,
};

/** Ids of the cards shipped with the package, in listing order. */
export const SHIPPED_CARDS: readonly string[] = Object.keys(SHIPPED);

/** A shipped card by id as its JSON (`models/ID.json`, parsed, not validated); undefined for an unknown id. */
export function shippedCardJson(id: string): unknown {
  return Object.hasOwn(SHIPPED, id) ? SHIPPED[id] : undefined;
}

/**
 * A shipped card by id (`siam-v0.3`, `monai-wholebody-ct`,
 * `hnoseg-xs-brats`), validated; undefined for an unknown id.
 *
 * @example
 * ```ts
 * import { shippedCard } from "./shipped.ts";
 *
 * console.log(shippedCard("monai-wholebody-ct")?.classes.length); // 105
 * ```
 */
export function shippedCard(id: string): ModelCard | undefined {
  if (id === "siam-v0.3") return SIAM_V03;
  const raw = SHIPPED[id];
  return raw === undefined ? undefined : validateCard(raw, `models/${id}.json`);
}

/**
 * `--card NAME|FILE`: a shipped card by name (`monai-wholebody-ct`, also
 * with `.json`), else a card file path. An unknown name that is no file is
 * an error listing the shipped cards.
 */
export async function resolveCard(spec: string): Promise<ModelCard> {
  const id = spec.replace(/\.json$/i, "");
  const shipped = !/[\\/]/.test(spec) ? shippedCard(id) : undefined;
  if (shipped) {
    try {
      await Deno.stat(spec);
    } catch {
      return shipped; // no local file of that name: the shipped card
    }
  }
  if (!/[\\/]/.test(spec) && !/\.json$/i.test(spec)) {
    try {
      await Deno.stat(spec);
    } catch {
      throw new UsageError(`--card ${spec}: no such card (shipped: ${SHIPPED_CARDS.join(", ")}) and no such file`);
    }
  }
  return await loadCard(spec);
}
