/**
 * Many prompts over many slices (`--prompts FILE.json`): a JSON list of
 * `{"slice": "AXIS:INDEX", "box": [x1, y1, x2, y2], "points": [[x, y], [x, y, 0]]}`
 * (`slice` only for 3-D volumes). The encoder runs once per distinct slice;
 * prompt k's mask is written with the value k + 1 (a later prompt wins
 * where masks overlap).
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { Prompter } from "./prompter.ts";
import type { PointPrompt, Prompt } from "./prompts.ts";
import { type SliceRef } from "./slice.ts";

/** One entry of a prompts file. */
export interface PromptEntry extends Prompt {
  /** The slice of a 3-D volume (undefined: the 2-D image). */
  slice?: SliceRef;
}

/**
 * Parses a prompts file's text; errors (exit 65) name `path` and the entry.
 *
 * @example
 * ```ts
 * import { parsePrompts } from "./prompts_file.ts";
 *
 * const e = parsePrompts('[{"slice": "2:80", "box": [1, 2, 30, 40]}, {"points": [[5, 6, 0]]}]', "p.json");
 * console.log(e[0].slice, e[1].points); // { axis: 2, index: 80 } [{ x: 5, y: 6, label: 0 }]
 * ```
 */
export function parsePrompts(text: string, path: string): PromptEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(path, `not JSON (${(e as Error).message})`);
  }
  const list = Array.isArray(raw) ? raw : (raw as { prompts?: unknown })?.prompts;
  if (!Array.isArray(list) || list.length === 0) throw new InputError(path, "a non-empty list of prompts is expected");
  if (list.length > 255) throw new InputError(path, `${list.length} prompts; at most 255 (one uint8 value each)`);
  const nums = (v: unknown, n: number) => Array.isArray(v) && v.length === n && v.every((x) => Number.isFinite(x));
  return list.map((e, k) => {
    const at = `prompt ${k + 1}`;
    if (!e || typeof e !== "object") throw new InputError(path, `${at}: an object is expected`);
    const o = e as Record<string, unknown>;
    const out: PromptEntry = {};
    if (o.slice !== undefined) {
      const m = typeof o.slice === "string" ? /^([0-2]):(\d+)$/.exec(o.slice) : null;
      if (!m) throw new InputError(path, `${at}: slice "AXIS:INDEX" expected, got ${JSON.stringify(o.slice)}`);
      out.slice = { axis: Number(m[1]), index: Number(m[2]) };
    }
    if (o.box !== undefined) {
      if (!nums(o.box, 4)) throw new InputError(path, `${at}: box [x1, y1, x2, y2] expected`);
      out.box = o.box as [number, number, number, number];
    }
    if (o.points !== undefined) {
      if (
        !Array.isArray(o.points) || !o.points.every((p) => nums(p, 2) || (nums(p, 3) && (p[2] === 0 || p[2] === 1)))
      ) {
        throw new InputError(path, `${at}: points [[x, y], [x, y, 0|1], …] expected`);
      }
      out.points = (o.points as number[][]).map((p): PointPrompt =>
        p.length === 3 && p[2] === 0 ? { x: p[0], y: p[1], label: 0 } : { x: p[0], y: p[1] }
      );
    }
    return out;
  });
}

/** Reads and parses a prompts file. */
export async function readPromptsFile(path: string): Promise<PromptEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new InputError(path, "no such prompts file", 66);
  }
  return parsePrompts(text, path);
}

/** The key grouping entries by slice. */
export function sliceKey(s: SliceRef | undefined): string {
  return s ? `${s.axis}:${s.index}` : "image";
}

/**
 * Runs every entry: groups them by slice, embeds each slice once (`slices`
 * gives it), predicts each prompt, and hands back its mask with the value
 * k + 1 to `put`. `onSlice` hears each slice embedded (and whether it came
 * from the cache).
 */
export async function runPrompts(
  prompter: Prompter,
  entries: PromptEntry[],
  slices: (ref: SliceRef | undefined) => Parameters<Prompter["embed"]>[0],
  put: (ref: SliceRef | undefined, mask: Uint8Array, value: number) => void,
  onSlice?: (key: string, cached: boolean) => void,
): Promise<number> {
  const groups = new Map<string, number[]>();
  for (const [k, e] of entries.entries()) {
    const key = sliceKey(e.slice);
    groups.set(key, [...(groups.get(key) ?? []), k]);
  }
  let embedded = 0;
  for (const [key, ks] of groups) {
    const ref = entries[ks[0]].slice;
    const e = await prompter.embed(slices(ref));
    onSlice?.(key, e.cached);
    if (!e.cached) embedded++;
    for (const k of ks) {
      const p = await prompter.predict(e, entries[k]);
      put(ref, p.mask, k + 1);
    }
  }
  return embedded;
}
