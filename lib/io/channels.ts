/**
 * Shim: channel reading moved to lib/run/channels.ts (it reads a card's
 * channels, a run concern). Kept only for lib/run/segment.ts and cli.ts,
 * which the pipeline rewrite points at the new home; then delete this file
 * and its entry in tests/layers_test.ts's KNOWN.
 *
 * @module
 */
// moved to lib/run/channels.ts
export * from "../run/channels.ts";
