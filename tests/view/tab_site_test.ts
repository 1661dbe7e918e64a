/**
 * `siamize view --in-browser`'s server (`startTabServer`): the prebuilt
 * site under a token (403 without it) with the cross-origin isolation
 * headers, the scan it was given under the token and named in the page's
 * URL, nothing outside the site; its temp folder gone on close.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";
import { startTabServer } from "../../lib/view/tab_site.ts";
import { pageBundle } from "../../lib/web/page_bundle.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test({
  name: "view --in-browser server: the site under the token with the isolation headers; the scan preselected",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const scan = join(GOLDEN, "phantom.nii.gz");
    const s = await startTabServer({ scan });
    try {
      const m = s.url.match(/^http:\/\/127\.0\.0\.1:(\d+)\/([0-9a-f]{32})\/\?scan=scan%2Fphantom\.nii\.gz$/);
      assert(m, s.url);
      const base = `http://127.0.0.1:${m[1]}/${m[2]}/`;
      const page = await fetch(s.url);
      assertEquals(page.status, 200);
      assertEquals(page.headers.get("cross-origin-opener-policy"), "same-origin");
      assertEquals(page.headers.get("cross-origin-embedder-policy"), "require-corp");
      assertEquals(await page.text(), (await pageBundle())["index.html"]);
      const app = await fetch(base + "app.js");
      assertEquals(app.headers.get("content-type"), "text/javascript");
      assertEquals(await app.text(), (await pageBundle())["app.js"]);
      const wasm = await fetch(base + "ort/ort-wasm-simd-threaded.asyncify.wasm");
      assertEquals(wasm.headers.get("content-type"), "application/wasm");
      assertEquals(wasm.headers.get("cross-origin-embedder-policy"), "require-corp");
      await wasm.body?.cancel();
      const got = await fetch(base + "scan/phantom.nii.gz");
      assertEquals(await got.bytes(), await Deno.readFile(scan));
      for (
        const [path, status] of [
          [`http://127.0.0.1:${m[1]}/`, 403],
          [`http://127.0.0.1:${m[1]}/${"0".repeat(32)}/app.js`, 403],
          [`http://127.0.0.1:${m[1]}/app.js`, 403],
          [base + "scan/other.nii.gz", 404],
          [base + "cards", 404],
        ] as const
      ) {
        const r = await fetch(path, { redirect: "manual" });
        await r.body?.cancel();
        assertEquals(r.status, status, path);
      }
      // A path out of the site (fetch folds %2e%2e, so the token is gone, or the server refuses the ..).
      const up = await fetch(base + "ort/%2e%2e/%2e%2e/%2e%2e/etc/passwd");
      await up.body?.cancel();
      assert([400, 403, 404].includes(up.status), `${up.status}`);
      const noSlash = await fetch(base.slice(0, -1), { redirect: "manual" });
      await noSlash.body?.cancel();
      assertEquals([noSlash.status, noSlash.headers.get("location")], [301, base]);
      assert(await exists(join(s.tempDir, "site", "index.html")));
    } finally {
      await s.close();
    }
    assert(!(await exists(s.tempDir)), `${s.tempDir} left behind`);
  },
});
