/**
 * ONNX Runtime for Node (onnxruntime-node), by its full `npm:` specifier, so
 * that a program outside this checkout can import `mod.ts` by path with no
 * import map. The version is written here once for lib/; `deno.json`'s import
 * map names the same one for scripts, tests and `deno install` (a test keeps
 * them equal).
 *
 * @module
 */
export * from "npm:onnxruntime-node@1.30.0";
