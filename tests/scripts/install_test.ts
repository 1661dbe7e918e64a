import { dirname, join, resolve } from "../../lib/core/_std.ts";
import { findOnPath, installArgs, installedCheckout, mirrorHost } from "../../scripts/install.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";
import { taskArgs, userEnv } from "../_tasks.ts";

const BIN = Deno.build.os === "windows" ? "siamize.cmd" : "siamize";

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = await new Deno.Command(cmd, { args, cwd, clearEnv: true, env: { ...userEnv(), ...env }, stdin: "null" })
    .output();
  return { code: r.code, err: new TextDecoder().decode(r.stderr), out: new TextDecoder().decode(r.stdout) };
}

/** `deno task install …` as typed in the checkout. */
function install(args: string[]) {
  return run(Deno.execPath(), [...taskArgs("install"), ...args], ROOT);
}

Deno.test("install: mirror hosts from a URL or a bare host; the checkout an installed launcher runs", () => {
  assertEquals(mirrorHost("https://mirror.example/siam/"), "mirror.example");
  assertEquals(mirrorHost("http://127.0.0.1:8080/w/"), "127.0.0.1:8080");
  assertEquals(mirrorHost("mirror.example"), "mirror.example");
  assertEquals(
    installedCheckout(
      `#!/bin/sh\nexec deno run --allow-read --config /x/.siamize/deno.json 'file:///home/a/siamize/cli.ts' "$@"`,
    ),
    "/home/a/siamize",
  );
  assertEquals(installedCheckout("#!/bin/sh\nexec other-tool"), undefined);
});

Deno.test("install: a native dcm2niix on PATH is found by its absolute path and granted --allow-run for that file only", async () => {
  await using d = await tempDir();
  await Deno.mkdir(join(d.path, "a"));
  await Deno.mkdir(join(d.path, "b"));
  await Deno.writeTextFile(join(d.path, "a", "dcm2niix"), "not executable");
  await Deno.writeTextFile(join(d.path, "b", "dcm2niix"), "#!/bin/sh\n");
  await Deno.chmod(join(d.path, "b", "dcm2niix"), 0o755);
  const path = [join(d.path, "missing"), join(d.path, "a"), join(d.path, "b")].join(":");
  assertEquals(findOnPath("dcm2niix", path), join(d.path, "b", "dcm2niix"));
  assertEquals(findOnPath("dcm2niix", join(d.path, "a")), undefined);
  assertEquals(findOnPath("dcm2niix", undefined), undefined);
  const args = installArgs([], undefined, "/opt/bin/dcm2niix");
  assertEquals(args.filter((a) => a.startsWith("--allow-run")), ["--allow-run=/opt/bin/dcm2niix"]);
  assertEquals(args.at(-1), join(ROOT, "cli.ts"));
  assertEquals(installArgs([]).filter((a) => a.startsWith("--allow-run")), []);
});

Deno.test("install refuses to replace a siamize command of another checkout (73) unless -f", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "root");
  await Deno.mkdir(join(root, "bin"), { recursive: true });
  const launcher = join(root, "bin", BIN);
  const other = `#!/bin/sh\nexec deno run --allow-read 'file:///elsewhere/siamize/cli.ts' "$@"\n`;
  await Deno.writeTextFile(launcher, other);
  const refused = await install(["--root", root]);
  assertEquals(refused.code, 73, refused.err);
  assert(refused.err.includes("/elsewhere/siamize") && refused.err.includes("-f"), refused.err);
  assertEquals(await Deno.readTextFile(launcher), other);
  const forced = await install(["--root", root, "-f"]);
  assertEquals(forced.code, 0, forced.err);
  assertEquals(installedCheckout(await Deno.readTextFile(launcher)), resolve(ROOT));
  // This checkout's own command is replaced without -f (a reinstall, e.g. to add a mirror).
  const again = await install(["--root", root, "--mirror", "mirror.example"]);
  assertEquals(again.code, 0, again.err);
  assert((await Deno.readTextFile(launcher)).includes("--allow-net=127.0.0.1,neurojson.org,mirror.example"));
});

Deno.test("SIAMIZE_WEIGHTS_BASE_URL with the installed command: refused at once without --mirror, downloads with it", async () => {
  const model = await Deno.readFile(await tinyModel(true, 5));
  let requests = 0;
  const ctl = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ctl.signal,
    onListen: ({ port }) => resolve(port),
  }, (req) => {
    requests++;
    return new URL(req.url).pathname === "/w/fold_0_fp16.onnx"
      ? new Response(model.slice(), { headers: { "content-length": String(model.length) } })
      : new Response("no", { status: 404 });
  });
  const port = await listening;
  await using dir = await tempDir();
  try {
    const user = join(dir.path, "data");
    await Deno.mkdir(user);
    await Deno.copyFile(join(GOLDEN, "phantom.nii.gz"), join(user, "T1.nii.gz"));
    // By name: the command may reach 127.0.0.1 (where `siamize view` listens), not other hosts, localhost included.
    const base = `http://localhost:${port}/w/`;
    const env = {
      PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
      SIAMIZE_WEIGHTS_BASE_URL: base,
      SIAMIZE_CACHE_DIR: join(dir.path, "cache"),
      NO_PROXY: "127.0.0.1,localhost",
      no_proxy: "127.0.0.1,localhost",
    };
    const args = ["-i", "T1.nii.gz", "-o", "labels.nii.gz", "-M", "0", "-P", "64x64x32", "-c", "cpu", "-q"];
    // Installed without the mirror: one line saying how to allow it, no retries, nothing fetched.
    const plain = join(dir.path, "plain");
    const i1 = await install(["--root", plain]);
    assertEquals(i1.code, 0, i1.err);
    const refused = await run(join(plain, "bin", BIN), args, user, env);
    assertEquals(refused.code, 66, refused.err);
    assert(refused.err.includes(`deno task install --mirror http://localhost:${port}/`), refused.err);
    assertEquals(refused.err.trim().split("\n").length, 1, refused.err);
    assertEquals(requests, 0);
    // Installed with --mirror: the fold comes from the mirror and the scan is segmented.
    const mirrored = join(dir.path, "mirrored");
    const i2 = await install(["--root", mirrored, "--mirror", base]);
    assertEquals(i2.code, 0, i2.err);
    const ok = await run(join(mirrored, "bin", BIN), args, user, env);
    assertEquals(ok.code, 0, ok.err);
    assertEquals(requests, 1);
    assert(Deno.statSync(join(user, "labels.nii.gz")).isFile);
    assertEquals((await Deno.readFile(join(dir.path, "cache", "fold_0_fp16.onnx"))).length, model.length);
  } finally {
    ctl.abort();
    await server.finished;
  }
});
