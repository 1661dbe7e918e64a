import { join } from "../../lib/core/_std.ts";
import { UsageError } from "../../lib/core/errors.ts";
import { startViewServer } from "../../lib/view/server.ts";
import { makeToken, sameToken, splitTokenPath } from "../../lib/view/token.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { GOLDEN, tempDir } from "../_fixtures.ts";

const PHANTOM = join(GOLDEN, "phantom.nii.gz");

/** A raw HTTP/1.1 GET, path sent as written (no client-side `..` folding); the status code. */
async function rawGet(port: number, path: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    const buf = new Uint8Array(256);
    const n = await conn.read(buf);
    return Number(new TextDecoder().decode(buf.subarray(0, n ?? 0)).split(" ")[1]);
  } finally {
    conn.close();
  }
}

Deno.test("token: 32 hex digits, fresh each time; compared exactly; split from the path", () => {
  const a = makeToken(), b = makeToken();
  assert(/^[0-9a-f]{32}$/.test(a), a);
  assert(a !== b);
  assert(sameToken(a, a));
  assert(!sameToken(a, b));
  assert(!sameToken(a.slice(0, 31), a));
  assertEquals(splitTokenPath(`/${a}/api/state`), [a, "api/state"]);
  assertEquals(splitTokenPath(`/${a}`), [a, ""]);
  assertEquals(splitTokenPath("/"), undefined);
});

Deno.test({
  name: "view server: 127.0.0.1 only, the token on every path (403), only opened files (404), no traversal",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const e1 = await assertRejects(() => startViewServer({ hostname: "0.0.0.0" }), /127\.0\.0\.1 only/);
    assert(e1 instanceof UsageError);
    await assertRejects(() => startViewServer({ labels: PHANTOM }), /--labels needs a scan/);
    const s = await startViewServer({ scan: PHANTOM });
    try {
      assert(s.url.startsWith(`http://127.0.0.1:${s.port}/${s.token}/`), s.url);
      const get = async (path: string) => {
        const r = await fetch(`http://127.0.0.1:${s.port}${path}`);
        await r.body?.cancel();
        return r.status;
      };
      const t = `/${s.token}`;
      assertEquals(await get(`${t}/`), 200);
      assertEquals(await get(`${t}/app.js`), 200);
      assertEquals(await get(`${t}/niivue.js`), 200);
      // No token, a wrong one, a truncated one: 403, whatever the rest of the path.
      assertEquals(await get("/"), 403);
      assertEquals(await get("/app.js"), 403);
      assertEquals(await get(`/${makeToken()}/`), 403);
      assertEquals(await get(`/${s.token.slice(1)}/api/state`), 403);
      assertEquals(await get(`/files/1/phantom.nii.gz`), 403);
      // The opened scan is served; anything else is not.
      const state = await (await fetch(`${s.url}api/state`)).json();
      assertEquals(state.scan.name, "phantom.nii.gz");
      const scan = await fetch(`${s.url}${state.scan.url}`);
      assertEquals(new Uint8Array(await scan.arrayBuffer()), await Deno.readFile(PHANTOM));
      assertEquals(await get(`${t}/files/1/other.nii.gz`), 404);
      assertEquals(await get(`${t}/files/2/phantom.nii.gz`), 404);
      assertEquals(await get(`${t}/README.md`), 404);
      assertEquals(await get(`${t}/server.ts`), 404);
      assertEquals(await get(`${t}/page/app.js`), 404);
      // `..`, raw and percent-encoded, sent as written: never a file outside the opened ones.
      for (
        const p of [
          `${t}/../../../etc/passwd`,
          `${t}/files/1/../../../../etc/passwd`,
          `${t}/files/1/..%2f..%2f..%2fetc%2fpasswd`,
          `${t}/%2e%2e/%2e%2e/etc/passwd`,
          `/x/../etc/passwd`,
        ]
      ) {
        const code = await rawGet(s.port, p);
        assert(code === 403 || code === 404, `${p}: ${code}`);
      }
      assertEquals(await rawGet(s.port, `${t}/files/1/phantom.nii.gz`), 200);
    } finally {
      await s.close();
    }
    await assertRejects(() => Deno.stat(s.tempDir), /No such file|not found/i);
  },
});

Deno.test({
  name: "view server: a broken scan fails at start with the CLI's one-line error, leaving no temp folder",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const bad = join(dir.path, "bad.nii");
    await Deno.writeFile(bad, new Uint8Array(100));
    const before = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) =>
      e.name.startsWith("siamize-view-")
    ).length;
    const e = await assertRejects(() => startViewServer({ scan: bad }), /./);
    assert(e.message.startsWith(`${bad}: `), e.message);
    assert(!e.message.includes("\n"));
    const after =
      [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) => e.name.startsWith("siamize-view-")).length;
    assertEquals(after, before);
  },
});
