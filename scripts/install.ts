/**
 * `deno task install [--mirror URL|HOST]… [-f]`
 *
 * Installs the `siamize` command (`deno install -g`) for this checkout with
 * exactly the permissions of `deno task siamize` (read from `deno.json`, so
 * the two cannot drift), plus each weights mirror's host in `--allow-net`
 * (`--mirror`, and `SIAMIZE_WEIGHTS_BASE_URL` when it is set at install
 * time), and `--allow-run` for a native `dcm2niix` on PATH at install time
 * (by its absolute path: DICOM input above what the WASM build holds). A `siamize` command that runs another checkout is not replaced
 * without `-f`.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };
import { fromFileUrl, join, resolve, toFileUrl } from "../lib/core/_std.ts";
import { scriptArgs } from "./_cli.ts";

const USAGE = `install [--mirror URL|HOST]… [-f|--force] [--root DIR]
  Installs the siamize command (deno install -g) running this checkout, with the permissions of deno task siamize
  (and leave to run a native dcm2niix found on PATH now, for DICOM input above what its WASM build holds).
  --mirror URL|HOST  also allow this weights mirror (SIAMIZE_WEIGHTS_BASE_URL's host; repeatable). A mirror set in
                     SIAMIZE_WEIGHTS_BASE_URL at install time is added too.
  -f, --force        replace a siamize command that runs another checkout (one of this checkout is replaced anyway)
  --root DIR         install into DIR/bin (default: $DENO_INSTALL_ROOT, else ~/.deno)
  -h, --help         this text
Exit codes: 0 installed, 64 usage error, 73 another checkout's siamize is there (use -f).`;

/** The checkout root. */
export const ROOT: string = resolve(fromFileUrl(new URL("..", import.meta.url)));

/** The host (with port) of a mirror given as a URL or a bare host. */
export function mirrorHost(spec: string): string {
  const s = spec.trim();
  if (!s) throw new Error("empty --mirror");
  try {
    return new URL(s.includes("://") ? s : `https://${s}`).host;
  } catch {
    throw new Error(`--mirror ${spec}: not a URL or host`);
  }
}

/**
 * The executable `name` in the folders of `path` (a `PATH` value), as an
 * absolute path, or undefined.
 */
export function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? "").split(Deno.build.os === "windows" ? ";" : ":")) {
    if (!dir) continue;
    const p = resolve(dir, name);
    try {
      const st = Deno.statSync(p);
      if (st.isFile && (Deno.build.os === "windows" || ((st.mode ?? 0) & 0o111) !== 0)) return p;
    } catch { /* not there */ }
  }
  return undefined;
}

/**
 * The `deno install` arguments: `deno task siamize`'s permission flags, with
 * the mirrors' hosts added to `--allow-net` and, when `dcm2niix` names a
 * native dcm2niix (found on PATH at install time), `--allow-run` for that
 * one file (DICOM input above what its WASM build holds), then the
 * checkout's `cli.ts`.
 */
export function installArgs(mirrors: string[], root?: string, dcm2niix?: string): string[] {
  const words = denoJson.tasks.siamize.split(/\s+/);
  const run = words.indexOf("run"), script = words.indexOf("cli.ts");
  if (words[0] !== "deno" || run !== 1 || script !== words.length - 1) {
    throw new Error(`deno.json: the siamize task is not "deno run … cli.ts"`);
  }
  const flags = words.slice(2, script).map((w) => {
    if (!w.startsWith("--allow-net=")) return w;
    const hosts = w.slice("--allow-net=".length).split(",");
    for (const m of mirrors) if (!hosts.includes(m)) hosts.push(m);
    return `--allow-net=${hosts.join(",")}`;
  });
  return [
    "install",
    "-g",
    "-f",
    "-n",
    "siamize",
    ...(root ? ["--root", root] : []),
    "--config",
    join(ROOT, "deno.json"),
    ...flags,
    ...(dcm2niix ? [`--allow-run=${dcm2niix}`] : []),
    join(ROOT, "cli.ts"),
  ];
}

/** Where `deno install -g` puts the command. */
export function installedPath(root: string | undefined, env: (k: string) => string | undefined): string {
  const base = root ?? env("DENO_INSTALL_ROOT") ??
    join(env("HOME") ?? env("USERPROFILE") ?? ".", ".deno");
  return join(base, "bin", Deno.build.os === "windows" ? "siamize.cmd" : "siamize");
}

/**
 * Which checkout an installed `siamize` runs, from the `cli.ts` URL or path
 * in its launcher; undefined when it names none (not ours, or unreadable).
 */
export function installedCheckout(launcher: string): string | undefined {
  const m = launcher.match(/(file:\/\/\/?[^\s'"]*?|[^\s'"]*?)[\\/]cli\.ts\b/);
  if (!m) return undefined;
  const where = m[1];
  try {
    return resolve(where.startsWith("file:") ? fromFileUrl(where) : where);
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const { values } = scriptArgs(USAGE, {
    options: {
      mirror: { type: "string", multiple: true },
      force: { type: "boolean", short: "f", default: false },
      root: { type: "string" },
    },
  });
  const env = (k: string) => Deno.env.get(k);
  let mirrors: string[];
  try {
    const specs = [...(values.mirror ?? [])];
    const fromEnv = env("SIAMIZE_WEIGHTS_BASE_URL");
    if (fromEnv) specs.push(fromEnv);
    mirrors = specs.map(mirrorHost);
  } catch (e) {
    console.error(`install: ${(e as Error).message} (see --help)`);
    Deno.exit(64);
  }
  const root = values.root ? resolve(Deno.env.get("INIT_CWD") ?? ".", values.root) : undefined;
  const target = installedPath(root, env);
  let launcher: string | undefined;
  try {
    launcher = await Deno.readTextFile(target);
  } catch { /* none yet */ }
  if (launcher !== undefined && !values.force) {
    const other = installedCheckout(launcher);
    if (other !== ROOT) {
      console.error(
        `install: ${target} runs ${other ?? "something else"}, not this checkout (${ROOT}); ` +
          `use -f to replace it (deno task install -f)`,
      );
      Deno.exit(73);
    }
  }
  const dcm2niix = findOnPath("dcm2niix", env("PATH"));
  const r = await new Deno.Command(Deno.execPath(), { args: installArgs(mirrors, root, dcm2niix), stdin: "null" })
    .output();
  await Deno.stdout.write(r.stdout);
  await Deno.stderr.write(r.stderr);
  if (!r.success) Deno.exit(r.code || 1);
  console.log(
    `siamize: ${target} runs ${toFileUrl(join(ROOT, "cli.ts")).href}` +
      (mirrors.length ? `; weights mirrors allowed: ${mirrors.join(", ")}` : "") +
      (dcm2niix ? `; may run ${dcm2niix} (DICOM above what dcm2niix's WASM build holds)` : ""),
  );
}
