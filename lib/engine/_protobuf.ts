/**
 * protobufjs (ONNX model parsing), by its full `npm:` specifier, so that a
 * program outside this checkout can import `mod.ts` by path with no import
 * map. The version is written here once for lib/; `deno.json`'s import map
 * names the same one for scripts and tests (a test keeps them equal).
 *
 * @module
 */
import protobuf from "npm:protobufjs@8.0.1";

/** The protobufjs module object. */
export default protobuf;
