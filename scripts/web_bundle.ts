/**
 * `deno task web-bundle`: writes `lib/web/page/bundle.json`, the page files
 * that `siamize web build` copies — `index.html` and `app.js`, the page
 * script `lib/web/page/main.ts` bundled by `deno bundle --platform browser
 * --minify` (deterministic: the same sources give the same bytes, wherever
 * the checkout is). The file is committed, so that `siamize web build` runs
 * without `--allow-run` and without the sources (JSR, `deno compile`); the
 * test `tests/scripts/web_bundle_test.ts` rebuilds it and fails when the
 * committed file is stale. Run it after any change to the page or to a
 * module the page imports.
 *
 * @module
 */
import { fromFileUrl, join } from "../lib/core/_std.ts";
import { PAGE_BUNDLE_NOTE } from "../lib/web/page_bundle.ts";

const ROOT = fromFileUrl(new URL("..", import.meta.url));

/** Where the generated file is, from the repository root. */
export const PAGE_BUNDLE_FILE = "lib/web/page/bundle.json";

/** The text of `lib/web/page/bundle.json` for the sources as they are now (runs `deno bundle`). */
export async function pageBundleText(): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: "siamize-web-bundle-" });
  try {
    const out = join(tmp, "app.js");
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "--config",
        join(ROOT, "deno.json"),
        "-o",
        out,
        join(ROOT, "lib/web/page/main.ts"),
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(r.stderr).trim()}`);
    const files = {
      note: PAGE_BUNDLE_NOTE,
      "index.html": await Deno.readTextFile(join(ROOT, "lib/web/page/index.html")),
      "app.js": await Deno.readTextFile(out),
    };
    return JSON.stringify(files, null, 1) + "\n";
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  await Deno.writeTextFile(join(ROOT, PAGE_BUNDLE_FILE), await pageBundleText());
  console.log(`wrote ${PAGE_BUNDLE_FILE}`);
}
