/**
 * Every ```sh / ```bash block of README.md and docs/*.md, run as written from
 * a user's folder outside the checkout, in page order: `~/siamize` is the
 * checkout, `deno` and the installed `siamize` are on PATH, and the weights
 * cache holds the README's offline stand-in (`make-model --preset tiny`) in
 * place of downloaded folds. A block fails the test on any non-zero exit
 * that the text does not announce (`<!-- exit: N -->` before the block).
 *
 * Markers before a block: `<!-- no-test: why -->` (network, PyTorch, SLURM,
 * …) skips it by name; `<!-- slow: why -->` (full-size runs) runs it only
 * with `SIAMIZE_README_SLOW=1`.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT } from "../_fixtures.ts";
import { taskArgs, userEnv } from "../_tasks.ts";

/** One shell block of a page. */
export interface ShellBlock {
  /** `README.md:31` (page and line of the opening fence). */
  name: string;
  /** The commands, indentation removed. */
  text: string;
  /** `no-test` or `slow` with its reason, from a marker before the block. */
  marker?: { kind: "no-test" | "slow"; why: string };
  /** The exit status the text announces (`<!-- exit: N -->`). @default 0 */
  exit: number;
}

/** The ```sh / ```bash blocks of a markdown page, with the markers before them. */
export function shellBlocks(page: string, text: string): ShellBlock[] {
  const lines = text.split("\n");
  const out: ShellBlock[] = [];
  for (let k = 0; k < lines.length; k++) {
    const open = lines[k].match(/^(\s*)```(\w*)\s*$/);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > k && l.trim() === "```");
    if (end < 0) break;
    if (open[2] === "sh" || open[2] === "bash") {
      const indent = open[1].length;
      let marker: ShellBlock["marker"];
      let exit = 0;
      for (let j = k - 1; j >= 0 && (lines[j].trim() === "" || lines[j].trim().startsWith("<!--")); j--) {
        const m = lines[j].trim().match(/^<!--\s*(no-test|slow|exit):\s*(.*?)\s*-->$/);
        if (!m) continue;
        if (m[1] === "exit") exit = Number(m[2]);
        else marker ??= { kind: m[1] as "no-test" | "slow", why: m[2] };
      }
      out.push({
        name: `${page}:${k + 1}`,
        text: lines.slice(k + 1, end).map((l) => l.slice(Math.min(indent, l.search(/\S|$/)))).join("\n"),
        marker,
        exit,
      });
    }
    k = end;
  }
  return out;
}

async function pages(): Promise<{ name: string; text: string }[]> {
  const docs = [...Deno.readDirSync(join(ROOT, "docs"))].filter((e) => e.name.endsWith(".md")).map((e) => e.name)
    .sort();
  return await Promise.all([
    { name: "README.md", path: join(ROOT, "README.md") },
    ...docs.map((d) => ({ name: `docs/${d}`, path: join(ROOT, "docs", d) })),
  ].map(async (p) => ({ name: p.name, text: await Deno.readTextFile(p.path) })));
}

async function output(cmd: string, args: string[], o: Deno.CommandOptions = {}): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped", ...o }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}\n${text}`);
  return text;
}

Deno.test("shellBlocks: fences, indentation, markers and announced exits", () => {
  const md = [
    "<!-- no-test: needs the network -->",
    "",
    "```sh",
    "git clone x",
    "```",
    "text",
    "  <!-- exit: 73 -->",
    "  ```bash",
    "  siamize -i a -o b",
    "  ```",
    "```ts",
    "const x = 1;",
    "```",
    "```sh",
    "echo hi",
    "```",
  ].join("\n");
  assertEquals(shellBlocks("p.md", md), [
    { name: "p.md:3", text: "git clone x", marker: { kind: "no-test", why: "needs the network" }, exit: 0 },
    { name: "p.md:8", text: "siamize -i a -o b", marker: undefined, exit: 73 },
    { name: "p.md:14", text: "echo hi", marker: undefined, exit: 0 },
  ]);
});

const SLOW = Deno.env.get("SIAMIZE_README_SLOW") === "1";

Deno.test({
  name: `every shell block of README.md and docs/*.md runs as written from a user's folder${
    SLOW ? " (with slow ones)" : ""
  }`,
  ignore: Deno.build.os === "windows",
  fn: async (t) => {
    const all = (await pages()).flatMap((p) => shellBlocks(p.name, p.text));
    assert(all.length >= 8, `${all.length} blocks`);
    // Every block that cannot run here says why, in the text.
    const run = all.filter((b) => !b.marker || (b.marker.kind === "slow" && SLOW));
    assert(run.length >= 2, "nothing to run");
    const top = await Deno.makeTempDir({ prefix: "siamize-readme-" });
    try {
      // The user's world: ~/siamize is the checkout, ~/data the folder with the scans.
      const home = join(top, "home"), user = join(home, "data"), bin = join(top, "bin"), cache = join(top, "cache");
      for (const d of [user, bin, cache]) await Deno.mkdir(d, { recursive: true });
      await Deno.symlink(ROOT.replace(/\/$/, ""), join(home, "siamize"));
      await Deno.symlink(Deno.execPath(), join(bin, "deno"));
      const denoDir = JSON.parse(await output(Deno.execPath(), ["info", "--json"])).denoDir as string;
      const env: Record<string, string> = {
        ...userEnv(),
        HOME: home,
        DENO_DIR: Deno.env.get("DENO_DIR") ?? denoDir, // the npm packages already fetched: no network
        PATH: `${bin}:${join(home, ".deno", "bin")}:${Deno.env.get("PATH") ?? ""}`,
        SIAMIZE_CACHE_DIR: cache,
      };
      // `deno task install`, as the README's install block does (it also clones, so it is not run itself).
      await output(Deno.execPath(), [...taskArgs("install"), "--root", join(home, ".deno")], {
        cwd: ROOT,
        clearEnv: true,
        env,
      });
      // Weights: the README's offline stand-in in place of every fold.
      const standIn = join(top, "standin.onnx");
      await output(Deno.execPath(), [...taskArgs("make-model"), "--preset", "tiny", "-o", standIn], { env });
      for (let f = 0; f < 5; f++) await Deno.copyFile(standIn, join(cache, `fold_${f}_fp16.onnx`));
      // The scans the blocks name.
      const scan = join(GOLDEN, "phantom.nii.gz");
      await Deno.copyFile(scan, join(user, "T1.nii.gz"));
      await Deno.mkdir(join(user, "scans"));
      await Deno.copyFile(scan, join(user, "scans", "a.nii.gz"));
      await Deno.writeTextFile(join(user, "list.txt"), "scans/a.nii.gz\n");
      await Deno.mkdir(join(user, "ds001"));
      await Deno.writeTextFile(
        join(user, "ds001", "dataset_description.json"),
        JSON.stringify({ Name: "ds001", BIDSVersion: "1.10.1" }),
      );
      for (const s of ["01", "02"]) {
        await Deno.mkdir(join(user, "ds001", `sub-${s}`, "anat"), { recursive: true });
        await Deno.copyFile(scan, join(user, "ds001", `sub-${s}`, "anat", `sub-${s}_T1w.nii.gz`));
      }
      await Deno.writeTextFile(join(user, "subjects.txt"), "01\n02\n");
      const before = await output("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=all"]);
      for (const b of all) {
        if (!run.includes(b)) {
          await t.step({
            name: `${b.name}: skipped (${b.marker!.kind}: ${b.marker!.why})`,
            ignore: true,
            fn: () => {},
          });
          continue;
        }
        await t.step(b.name, async () => {
          const r = await new Deno.Command("bash", {
            args: ["-e", "-o", "pipefail", "-c", b.text],
            cwd: user,
            clearEnv: true,
            env,
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).output();
          const said = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
          assertEquals(r.code, b.exit, `${b.name} exited ${r.code}:\n${b.text}\n---\n${said}`);
        });
      }
      // Nothing was written into the checkout: every output went to the user's folder.
      assertEquals(await output("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=all"]), before);
    } finally {
      await Deno.remove(top, { recursive: true });
    }
  },
});
