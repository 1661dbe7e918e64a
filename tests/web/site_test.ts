/**
 * `siamize web build` / `buildSite`: the files of the site, a page script
 * with no Node or Deno module in it, the refusal of a folder that holds
 * something (exit 73, nothing touched), `--overwrite`; `serveSite`'s
 * headers and its refusal of paths outside the folder.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals } from "../_assert.ts";
import { ROOT, runCli, tempDir } from "../_fixtures.ts";
import { ORT_FILES, serveSite, SITE_CARDS } from "../../lib/web/site.ts";
import { pageBundle } from "../../lib/web/page_bundle.ts";
import { validateCard } from "../../lib/cards/parse.ts";

Deno.test({
  name:
    "web build: the site's files; app.js imports no node: module nor onnxruntime-node; a non-empty folder is refused",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await tempDir();
    const out = join(dir.path, "site");
    const card = join(ROOT, "models", "testing", "analytic.json");
    const r = await runCli(["web", "build", out, "--card", card]);
    assertEquals(r.code, 0, r.err.join("\n"));
    for (const f of ["index.html", "app.js", "niivue.js", ...ORT_FILES.map((f) => `ort/${f}`)]) {
      assert((await Deno.stat(join(out, f))).size > 1000, f);
    }
    const names = JSON.parse(await Deno.readTextFile(join(out, "cards", "index.json")));
    assertEquals(names, [...SITE_CARDS, "analytic.json"]);
    const app = await Deno.readTextFile(join(out, "app.js"));
    // Static imports of a bundle are its externals: none. zlib only on demand (multi-member gzip).
    assertEquals(app.match(/^import .*$/gm), null);
    assertEquals([...app.matchAll(/import\("node:[a-z]+"\)/g)].map((m) => m[0]), ['import("node:zlib")']);
    assert(!app.includes("onnxruntime-node"), "onnxruntime-node in app.js");
    assert(app.includes("./ort/ort.webgpu.min.mjs"), "app.js does not load the site's ONNX Runtime Web");
    const html = await Deno.readTextFile(join(out, "index.html"));
    assert(/Nothing is uploaded/.test(html), "the page does not say that nothing is uploaded");

    // Non-empty: refused, untouched.
    await Deno.writeTextFile(join(out, "mine.txt"), "keep");
    const again = await runCli(["web", "build", out]);
    assertEquals(again.code, 73);
    assert(/site: not empty \(--overwrite replaces what it holds\)/.test(again.err.join("\n")), again.err.join("\n"));
    assertEquals(await Deno.readTextFile(join(out, "mine.txt")), "keep");
    const over = await runCli(["web", "build", out, "--overwrite"]);
    assertEquals(over.code, 0, over.err.join("\n"));
    assert(!(await Deno.stat(join(out, "mine.txt")).then(() => true, () => false)), "--overwrite kept an old file");
    assertEquals(JSON.parse(await Deno.readTextFile(join(out, "cards", "index.json"))), SITE_CARDS);
    // Nothing else was written beside the site (the staging folder is gone).
    assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), ["site"]);

    const usage = await runCli(["web", "build"]);
    assertEquals(usage.code, 64);
    const bad = await runCli(["web", "build", join(dir.path, "x"), "--card", join(dir.path, "none.json")]);
    assertEquals(bad.code, 66);
    assert(/none\.json: cannot read/.test(bad.err.join("\n")), bad.err.join("\n"));
  },
});

Deno.test({
  name: "web build runs with exactly the siamize task's flags (no --allow-run), from another folder: the prebuilt page",
  sanitizeResources: false,
  fn: async () => {
    const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks as Record<string, string>;
    const flags = tasks.siamize.split(/\s+/).filter((t) => t.startsWith("--allow-"));
    assert(!flags.some((f) => f.startsWith("--allow-run")), "the siamize task has --allow-run");
    await using dir = await tempDir();
    const args = ["run", ...flags, "--config", join(ROOT, "deno.json"), join(ROOT, "cli.ts"), "web", "build", "site"];
    const r = await new Deno.Command(Deno.execPath(), { args, cwd: dir.path, stdout: "piped", stderr: "piped" })
      .output();
    assert(r.success, new TextDecoder().decode(r.stderr));
    const site = join(dir.path, "site");
    const page = await pageBundle();
    assertEquals(await Deno.readTextFile(join(site, "app.js")), page["app.js"]);
    assertEquals(await Deno.readTextFile(join(site, "index.html")), page["index.html"]);
    for (const f of ORT_FILES) assert((await Deno.stat(join(site, "ort", f))).size > 1000, f);
    // The shipped cards, as the page reads them: valid cards, the shipped ones' ids.
    for (const c of SITE_CARDS) {
      const card = validateCard(JSON.parse(await Deno.readTextFile(join(site, "cards", c))), c);
      assertEquals(`${card.id}.json`, c);
    }
  },
});

Deno.test({
  name: "web serve: the folder's files with the cross-origin isolation headers and their types; nothing outside it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    await Deno.mkdir(join(dir.path, "s", "ort"), { recursive: true });
    await Deno.writeTextFile(join(dir.path, "s", "index.html"), "<p>hi</p>");
    await Deno.writeFile(join(dir.path, "s", "ort", "a.wasm"), new Uint8Array([0, 97, 115, 109]));
    await Deno.writeTextFile(join(dir.path, "secret.txt"), "no");
    const server = await serveSite(join(dir.path, "s"));
    try {
      assert(server.url.startsWith("http://127.0.0.1:"), server.url);
      const page = await fetch(server.url);
      assertEquals(await page.text(), "<p>hi</p>");
      assertEquals(page.headers.get("cross-origin-opener-policy"), "same-origin");
      assertEquals(page.headers.get("cross-origin-embedder-policy"), "require-corp");
      assertEquals(page.headers.get("content-type"), "text/html; charset=utf-8");
      const wasm = await fetch(server.url + "ort/a.wasm");
      assertEquals(wasm.headers.get("content-type"), "application/wasm");
      assertEquals((await wasm.bytes()).length, 4);
      const up = await fetch(server.url + "ort/%2e%2e/%2e%2e/secret.txt");
      await up.body?.cancel();
      assert(up.status === 400 || up.status === 404, `${up.status}`);
      const none = await fetch(server.url + "none.js");
      await none.body?.cancel();
      assertEquals(none.status, 404);
    } finally {
      await server.shutdown();
    }
  },
});
