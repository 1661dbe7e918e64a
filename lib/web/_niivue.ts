/**
 * NiiVue (`@niivue/niivue`), by its full `npm:` specifier: the site copies
 * its self-contained browser build (`dist/index.js`) as `niivue.js`.
 * A type-only import, so that the package is in the module graph and Deno
 * installs it, without running it here.
 *
 * @module
 */
export type { Niivue } from "npm:@niivue/niivue@0.69.0";

/** The NiiVue version the site ships (the one imported above). */
export const NIIVUE_VERSION = "0.69.0";
