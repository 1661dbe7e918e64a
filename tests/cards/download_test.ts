import { main } from "../../cli.ts";
import { join } from "../../lib/core/_std.ts";
import { DownloadError, downloadFile, sha256File } from "../../lib/cards/download.ts";
import { SIAM_V03 } from "../../lib/cards/shipped.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { cacheDir } from "../../lib/core/cache_dir.ts";
import { fetchModel, resolveModels, validateOnnx, weightsUrl } from "../../lib/cards/weights.ts";
import { fetchWeights } from "../../scripts/fetch_weights.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir, withEnv } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";

const MODEL = await Deno.readFile(await tinyModel(true, 11));

type Behaviour = (req: Request, count: number) => Response | Promise<Response>;

/** A server on 127.0.0.1 whose behaviour per request the test sets; counts requests. */
function serve(behaviour: Behaviour) {
  const requests: { range: string | null; path: string }[] = [];
  const ctl = new AbortController();
  let port = 0;
  const ready = new Promise<void>((resolve) => {
    Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: ctl.signal,
      onListen: (a) => {
        port = a.port;
        resolve();
      },
    }, (req) => {
      requests.push({ range: req.headers.get("range"), path: new URL(req.url).pathname });
      return behaviour(req, requests.length);
    });
  });
  return {
    ready,
    requests,
    get base() {
      return `http://127.0.0.1:${port}/w/`;
    },
    close: () => ctl.abort(),
  };
}

/** Serves `data`, honouring Range. */
function full(data: Uint8Array, req: Request): Response {
  const m = req.headers.get("range")?.match(/bytes=(\d+)-/);
  if (m) {
    const from = Number(m[1]);
    return new Response(data.slice(from), {
      status: 206,
      headers: {
        "content-range": `bytes ${from}-${data.length - 1}/${data.length}`,
        "content-length": String(data.length - from),
      },
    });
  }
  return new Response(data.slice(), { headers: { "content-length": String(data.length) } });
}

/** Sends the first `n` bytes and then breaks the connection. */
function dropAfter(data: Uint8Array, n: number): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(data.slice(0, n));
    },
    pull(c) {
      c.error(new Error("connection dropped"));
    },
  });
  return new Response(body, { headers: { "content-length": String(data.length) } });
}

async function withServer(b: Behaviour, fn: (s: ReturnType<typeof serve>, dir: string) => Promise<void>) {
  const s = serve(b);
  await s.ready;
  await using dir = await tempDir();
  try {
    await fn(s, dir.path);
  } finally {
    s.close();
  }
}

const quick = { attempts: 4, backoffMs: 10 };

Deno.test("fresh download, verified and renamed; then a cache hit with the server stopped", async () => {
  const sum = await sha256File(await tinyModel(true, 11));
  await withServer((req) => full(MODEL, req), async (s, dir) => {
    const dest = join(dir, "fold_0_fp16.onnx");
    const r = await downloadFile({
      url: s.base + "fold_0_fp16.onnx",
      dest,
      sha256: sum,
      validate: (p) => validateOnnx(p, SIAM_V03),
      ...quick,
    });
    assertEquals(r, "downloaded");
    assertEquals(await Deno.readFile(dest), MODEL);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["fold_0_fp16.onnx"]);
    s.close();
    const m = resolveModels(["0"], SIAM_V03, dir)[0];
    assertEquals(await fetchModel(m, SIAM_V03, { ...quick }), "present");
  });
});

Deno.test("resume after the server drops the connection midway (Range request)", async () => {
  await withServer((req, n) => (n === 1 ? dropAfter(MODEL, 10000) : full(MODEL, req)), async (s, dir) => {
    const dest = join(dir, "m.onnx");
    const logs: string[] = [];
    await downloadFile({ url: s.base + "m.onnx", dest, log: (l) => logs.push(l), ...quick });
    assertEquals(await Deno.readFile(dest), MODEL);
    assertEquals(s.requests.length, 2);
    assertEquals(s.requests[0].range, null);
    const resumedFrom = Number(s.requests[1].range?.match(/bytes=(\d+)-/)?.[1]);
    assert(resumedFrom > 0 && resumedFrom <= 10000, `resumed from ${resumedFrom}`);
    assert(logs.some((l) => l.includes("retrying")), logs.join("\n"));
  });
});

Deno.test("a server that ignores Range: fresh download from the start", async () => {
  await withServer((_req, n) => (n === 1 ? dropAfter(MODEL, 5000) : new Response(MODEL.slice())), async (s, dir) => {
    const dest = join(dir, "m.onnx");
    const logs: string[] = [];
    await downloadFile({ url: s.base + "m.onnx", dest, log: (l) => logs.push(l), ...quick });
    assertEquals(await Deno.readFile(dest), MODEL);
    assert(logs.some((l) => l.includes("ignored the resume request")));
  });
});

Deno.test("404 is final: one request, clear error, nothing cached", async () => {
  await withServer(() => new Response("no such file", { status: 404 }), async (s, dir) => {
    const m = resolveModels(["3"], SIAM_V03, dir)[0];
    await withEnv({ SIAMIZE_WEIGHTS_BASE_URL: s.base }, async () => {
      await assertRejects(
        () => fetchModel(m, SIAM_V03, quick),
        /^model fold_3_fp16\.onnx is not in the cache \(.*fold_3_fp16\.onnx\) and could not be downloaded: HTTP 404.*fetch-weights/,
      );
    });
    assertEquals(s.requests.length, 1);
    assertEquals(s.requests[0].path, "/w/fold_3_fp16.onnx");
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  });
});

Deno.test("500 then success: retried with backoff", async () => {
  await withServer((req, n) => (n <= 2 ? new Response("busy", { status: 503 }) : full(MODEL, req)), async (s, dir) => {
    const dest = join(dir, "m.onnx");
    await downloadFile({ url: s.base + "m.onnx", dest, ...quick });
    assertEquals(s.requests.length, 3);
    assertEquals(await Deno.readFile(dest), MODEL);
  });
});

Deno.test("a body shorter than Content-Length is never taken as the file", async () => {
  await withServer(() => dropAfter(MODEL, 3000), async (s, dir) => {
    const dest = join(dir, "m.onnx");
    const e = await assertRejects(
      () => downloadFile({ url: s.base + "m.onnx", dest, ...quick }),
      /connection lost|truncated/,
    );
    assert(e instanceof DownloadError && !e.final);
    assertEquals(s.requests.length, 4);
    assert(!Deno.readDirSync(dir).some((x) => x.name === "m.onnx"), "no file under the final name");
  });
});

Deno.test("wrong content (an HTML error page) is rejected and not cached", async () => {
  const html = new TextEncoder().encode("<!DOCTYPE html><html><body><h1>Service unavailable</h1></body></html>");
  await withServer(() => new Response(html.slice(), { headers: { "content-type": "text/html" } }), async (s, dir) => {
    const m = resolveModels(["0"], SIAM_V03, dir)[0];
    await withEnv({ SIAMIZE_WEIGHTS_BASE_URL: s.base }, async () => {
      await assertRejects(
        () => fetchModel(m, SIAM_V03, quick),
        /could not be downloaded: rejected content: not an ONNX model/,
      );
    });
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  });
});

Deno.test("SHA-256 mismatch is rejected", async () => {
  await withServer((req) => full(MODEL, req), async (s, dir) => {
    await assertRejects(
      () => downloadFile({ url: s.base + "m.onnx", dest: join(dir, "m.onnx"), sha256: "0".repeat(64), ...quick }),
      /SHA-256 mismatch/,
    );
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  });
});

Deno.test("two processes fetching the same fold: one downloads, the other waits", async () => {
  // A slow server: the body trickles out, so the second process arrives mid-download.
  const slow = (req: Request) => {
    if (req.headers.get("range")) return full(MODEL, req);
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        await new Promise((r) => setTimeout(r, 20));
        const next = Math.min(MODEL.length, at + 4096);
        c.enqueue(MODEL.slice(at, next));
        at = next;
        if (at >= MODEL.length) c.close();
      },
    });
    return new Response(body, { headers: { "content-length": String(MODEL.length) } });
  };
  await withServer(slow, async (s, dir) => {
    const child = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(ROOT, "tests", "_fetch_child.ts"), "0"],
        env: { SIAMIZE_CACHE_DIR: dir, SIAMIZE_WEIGHTS_BASE_URL: s.base },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const [a, b] = await Promise.all([child(), child()]);
    const dec = (x: Uint8Array) => new TextDecoder().decode(x);
    assert(a.success && b.success, dec(a.stderr) + dec(b.stderr));
    const results = [dec(a.stdout).trim(), dec(b.stdout).trim()].sort();
    assertEquals(results, ["downloaded", "present"]);
    assertEquals(s.requests.filter((r) => r.path.endsWith("fold_0_fp16.onnx")).length, 1);
    assertEquals(await Deno.readFile(join(dir, "fold_0_fp16.onnx")), MODEL);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["fold_0_fp16.onnx"]);
  });
});

Deno.test("a stale lock (its process gone) is taken over", async () => {
  await withServer((req) => full(MODEL, req), async (s, dir) => {
    const dest = join(dir, "m.onnx");
    await Deno.writeTextFile(`${dest}.lock`, "12345 long ago\n");
    const old = new Date(Date.now() - 120_000);
    await Deno.utime(`${dest}.lock`, old, old);
    const logs: string[] = [];
    await downloadFile({ url: s.base + "m.onnx", dest, staleLockMs: 1000, log: (l) => logs.push(l), ...quick });
    assertEquals(await Deno.readFile(dest), MODEL);
    assert(logs.some((l) => l.includes("stale lock")));
  });
});

Deno.test("a cache that cannot be written gives a clear error", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "a-file");
  await Deno.writeTextFile(file, "x");
  const m = resolveModels(["0"], SIAM_V03, join(file, "models"))[0];
  await assertRejects(
    () => fetchModel(m, SIAM_V03, quick),
    /cannot create the weights cache .*a-file\/models .*SIAMIZE_CACHE_DIR/,
  );
  // Without write permission (Deno's sandbox stands in for a read-only folder, which root would ignore).
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", `--allow-read`, `--allow-env`, `--allow-net=127.0.0.1`, join(ROOT, "tests", "_fetch_child.ts"), "0"],
    env: { SIAMIZE_CACHE_DIR: join(dir.path, "ro"), SIAMIZE_WEIGHTS_BASE_URL: "http://127.0.0.1:9/" },
    stderr: "piped",
  }).output();
  assert(!r.success);
  assert(
    /cannot create the weights cache .*ro/.test(new TextDecoder().decode(r.stderr)),
    new TextDecoder().decode(r.stderr),
  );
});

Deno.test("URLs: the card's prefix, the CoreML variant, the override", () => {
  const none = () => undefined;
  assertEquals(
    weightsUrl(SIAM_V03, "fold_1_fp16.onnx", "cpu", none),
    "https://neurojson.org/io/stat.cgi?action=get&db=siam_v03&doc=dynshape&file=fold_1_fp16.onnx",
  );
  assert(weightsUrl(SIAM_V03, "x.onnx", "coreml", none).includes("doc=coreml&file=x.onnx"));
  assertEquals(
    weightsUrl(SIAM_V03, "x.onnx", "cpu", (k) => (k === "SIAMIZE_WEIGHTS_BASE_URL" ? "https://h/p/" : undefined)),
    "https://h/p/x.onnx",
  );
  assertEquals(cacheDir((k) => ({ SIAMIZE_CACHE_DIR: "/c" } as Record<string, string>)[k]), "/c");
  assertEquals(
    cacheDir((k) => ({ HOME: "/home/u" } as Record<string, string>)[k], "linux"),
    "/home/u/.cache/siamize/models",
  );
  assertEquals(
    cacheDir((k) => ({ LOCALAPPDATA: "C:/L" } as Record<string, string>)[k], "windows"),
    join("C:/L", "siamize", "models"),
  );
});

Deno.test("resolver: digits, all, names, paths, mixed, de-duplicated", () => {
  const r = resolveModels(["0,2", "all", "custom.onnx", "./x/y.onnx"], SIAM_V03, "/cache", () => false);
  assertEquals(r.map((m) => m.name), [
    "fold_0_fp16.onnx",
    "fold_2_fp16.onnx",
    "fold_1_fp16.onnx",
    "fold_3_fp16.onnx",
    "fold_4_fp16.onnx",
    "custom.onnx",
    "y.onnx",
  ]);
  assertEquals(r[5].path, "/cache/custom.onnx");
  assert(!r[6].fromCache && r[6].path.endsWith("/x/y.onnx"));
});

Deno.test("fetch-weights: fetched, skipped, failed; the CLI with -M 0 downloads and segments", async () => {
  await withServer((req) => {
    const p = new URL(req.url).pathname;
    return p.endsWith("fold_4_fp16.onnx") ? new Response("gone", { status: 404 }) : full(MODEL, req);
  }, async (s, dir) => {
    await withEnv({ SIAMIZE_CACHE_DIR: join(dir, "cache"), SIAMIZE_WEIGHTS_BASE_URL: s.base }, async () => {
      const first = await fetchWeights(["0", "4"], () => {}, true);
      assertEquals(first.fetched, ["fold_0_fp16.onnx"]);
      assertEquals(first.failed.map((f) => f.name), ["fold_4_fp16.onnx"]);
      const again = await fetchWeights(["0"], () => {}, true);
      assertEquals(again.skipped, ["fold_0_fp16.onnx"]);
      // CLI: fold 1 is downloaded on demand, then the phantom is segmented.
      const out = join(dir, "labels.nii.gz");
      const err: string[] = [];
      const code = await main([
        "-i",
        join(GOLDEN, "phantom.nii.gz"),
        "-o",
        out,
        "-M",
        "1",
        "-P",
        "64x64x32",
        "-c",
        "cpu",
      ], {
        out: () => {},
        err: (l) => err.push(l),
        isTty: false,
      });
      assertEquals(code, 0, err.join("\n"));
      assert(err.some((l) => l.includes("downloading fold_1_fp16.onnx")));
      const labels = await readNifti(out);
      assertEquals(labels.dims, [80, 60, 90]);
      assert(new Set(labels.data).size > 1);
    });
  });
});
