/**
 * NiiVue (`@niivue/niivue`), by its full `npm:` specifier (the one module
 * of lib/ that names it): the site copies its self-contained browser build
 * (`dist/index.js`) as `niivue.js`, and `siamize view` serves it.
 *
 * @module
 */
import { SiamizeError } from "../core/errors.ts";

export type { Niivue } from "npm:@niivue/niivue@0.69.0";

/** The NiiVue version the site ships (the one imported above). */
export const NIIVUE_VERSION = "0.69.0";

/**
 * Where NiiVue's browser module is: `dist/index.js` of the installed
 * `@niivue/niivue`. Importing the package's `utils` entry (plain functions,
 * no DOM) first makes Deno install the package and resolve it to a file.
 */
export async function niivueUrl(): Promise<URL> {
  await import("npm:@niivue/niivue@0.69.0/utils");
  const main = import.meta.resolve("npm:@niivue/niivue@0.69.0"); // …/@niivue/niivue/build/niivue/index.js
  if (!main.startsWith("file:")) {
    throw new SiamizeError(`@niivue/niivue resolved to ${main}, not a file: cannot serve the viewer`, 66);
  }
  return new URL("../../dist/index.js", main);
}
