/**
 * `lib/web/page/bundle.json` (what `siamize web build` copies as
 * `index.html` and `app.js`) is what `deno task web-bundle` makes of the
 * sources as they are now: a change to the page or to a module it imports
 * without rerunning the task fails here.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { assert } from "../_assert.ts";
import { ROOT } from "../_fixtures.ts";
import { PAGE_BUNDLE_FILE, pageBundleText } from "../../scripts/web_bundle.ts";
import { pageBundle } from "../../lib/web/page_bundle.ts";

Deno.test("web-bundle: the committed lib/web/page/bundle.json is what deno bundle makes of the sources now", async () => {
  const fresh = await pageBundleText();
  const committed = await Deno.readTextFile(join(ROOT, PAGE_BUNDLE_FILE));
  assert(
    fresh === committed,
    `${PAGE_BUNDLE_FILE} is stale (the page or a module it imports changed): run deno task web-bundle and commit it`,
  );
  // What buildSite reads is that file's page: the script and the HTML as they are.
  const page = await pageBundle();
  const parsed = JSON.parse(fresh);
  assert(page["app.js"] === parsed["app.js"] && page["app.js"].length > 50_000, "app.js");
  assert(page["index.html"] === await Deno.readTextFile(join(ROOT, "lib/web/page/index.html")), "index.html");
});
