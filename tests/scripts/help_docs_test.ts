/**
 * Every option and case that README.md and docs/*.md use with a command is in
 * that command's `--help`: siamize, the `deno task` scripts and the Python
 * export scripts.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { HELP } from "../../lib/cli/args.ts";
import { PROMPT_HELP } from "../../lib/cli/prompt_args.ts";
import { VIEW_HELP } from "../../lib/cli/view.ts";
import { WEB_HELP } from "../../lib/cli/web.ts";
import { assert, assertEquals } from "../_assert.ts";
import { havePython, PYTHON, ROOT } from "../_fixtures.ts";
import { taskCommand } from "../_tasks.ts";

/** The markdown pages a user reads. */
export async function docPages(): Promise<{ name: string; text: string }[]> {
  const pages = [{ name: "README.md", text: await Deno.readTextFile(join(ROOT, "README.md")) }];
  for await (const e of Deno.readDir(join(ROOT, "docs"))) {
    if (e.isFile && e.name.endsWith(".md")) {
      pages.push({ name: `docs/${e.name}`, text: await Deno.readTextFile(join(ROOT, "docs", e.name)) });
    }
  }
  return pages;
}

/** The code of a page: each fenced line whole, and each inline code span of the prose. */
export function codeOf(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) out.push(line);
    else for (const m of line.matchAll(/`([^`]+)`/g)) out.push(m[1]);
  }
  return out;
}

const COMMANDS: [RegExp, string][] = [
  [/deno task (?:--config \S+ )?(bench|regress|make-model|fetch-weights|install)\b(.*)$/, "$1"],
  [/(?:^|[\s;&|(])(?:deno task )?siamize prompt\b(.*)$/, "siamize prompt"],
  [/(?:^|[\s;&|(])(?:deno task )?siamize view\b(.*)$/, "siamize view"],
  [/(?:^|[\s;&|(])(?:deno task (?:siamize )?|siamize )web\b(?!-)(.*)$/, "siamize web"],
  [/(?:^|[\s;&|(])(?:deno task )?siamize\b(?! (?:prompt|view|web)\b)(.*)$/, "siamize"],
  [/scripts\/export\/(export_\w+)\.py\b(.*)$/, "$1"],
];

/** Options (`-x`, `--long`) and `--case`/`--preset` values written after each command, by command. */
export function usedOptions(code: string[]): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const add = (cmd: string, word: string) => {
    if (!used.has(cmd)) used.set(cmd, new Set());
    used.get(cmd)!.add(word);
  };
  for (const c of code) {
    for (const [re, name] of COMMANDS) {
      const m = c.match(re);
      if (!m) continue;
      const cmd = name.startsWith("$") ? m[1] : name;
      const rest = name.startsWith("$") ? m[2] : m[m.length - 1];
      for (
        const o of rest.matchAll(/(?<![\w./-])(--?[A-Za-z][\w-]*)(?:[ =]([a-z0-9][\w.-]*(?:,[a-z0-9][\w.-]*)*)\b)?/g)
      ) {
        add(cmd, o[1]);
        if ((o[1] === "--case" || o[1] === "--preset") && o[2]) { for (const v of o[2].split(",")) add(cmd, v); }
      }
    }
  }
  return used;
}

/** The first column of a markdown table's rows, as code spans (`a`, `b` → a, b), from the line after `from`. */
function tableColumn(text: string, from: RegExp): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => from.test(l));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("|") && out.length) break;
    if (!l.startsWith("|")) continue;
    for (const m of l.split("|")[1].matchAll(/`([^`]+)`/g)) out.push(m[1]);
  }
  return out;
}

function mentions(help: string, word: string): boolean {
  const esc = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\w-])${esc}(?![\\w-])`).test(help);
}

const pages = await docPages();
const used = usedOptions(pages.flatMap((p) => codeOf(p.text)));
// The README's flag table names siamize's options; performance.md's case table names bench's cases.
const readme = pages.find((p) => p.name === "README.md")!.text;
for (const cell of tableColumn(readme, /^\| flag/)) {
  for (const m of cell.matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*[\w])(?![\w*-])/g)) used.get("siamize")!.add(m[1]);
}
const perf = pages.find((p) => p.name === "docs/performance.md")!.text;
const cases = tableColumn(perf, /Cases \(default/);
for (const c of cases) used.get("bench")!.add(c);

Deno.test("the docs' option and case lists were found (the extraction itself works)", () => {
  for (
    const [cmd, words] of [["siamize", ["-M", "--card", "--tpm-out", "--report"]], ["bench", [
      "--case",
      "tiny-webgpu",
    ]]] as const
  ) {
    for (const w of words) assert(used.get(cmd)?.has(w), `${cmd} ${w} not found in the docs`);
  }
  assert(cases.length >= 10, cases.join(", "));
  assertEquals([...usedOptions([
    "deno task --config ~/s/deno.json bench --case a,b-c --runs 2",
    "siamize -i x.nii -o y [-u lowres]",
  ])], [["bench", new Set(["--case", "a", "b-c", "--runs"])], ["siamize", new Set(["-i", "-o", "-u"])]]);
});

Deno.test("siamize --help lists every option the README and docs use with siamize", () => {
  const missing = [...used.get("siamize")!].filter((o) => !mentions(HELP, o));
  assertEquals(missing, [], `not in siamize --help: ${missing.join(" ")}`);
});

Deno.test("siamize prompt --help lists every option the README and docs use with siamize prompt", () => {
  const want = [...used.get("siamize prompt") ?? []];
  assert(want.includes("--box") && want.includes("--slice"), want.join(" "));
  const missing = want.filter((o) => !mentions(PROMPT_HELP, o));
  assertEquals(missing, [], `not in siamize prompt --help: ${missing.join(" ")}`);
});

Deno.test("siamize view --help and siamize web --help list every option the docs use with them", () => {
  const view = [...used.get("siamize view") ?? []];
  assert(view.includes("--labels") && view.includes("--no-open"), view.join(" "));
  assertEquals(view.filter((o) => !mentions(VIEW_HELP, o)), [], "not in siamize view --help");
  const web = [...used.get("siamize web") ?? []];
  assertEquals(web.filter((o) => !mentions(WEB_HELP, o)), [], "not in siamize web --help");
});

Deno.test("siamize --help and README agree on the exit codes", () => {
  const codes = (s: string) =>
    [...s.matchAll(/(?<![\w.])(\d{1,3})(?=[ /])/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  const readmeCodes = readme.split("### Exit codes")[1].split("\n\n")[1];
  const helpCodes = HELP.split("Exit codes:")[1];
  assertEquals(codes(helpCodes), codes(readmeCodes));
  // Same words too: one description, two places.
  const words = (s: string) => s.replace(/\s+/g, " ").trim().replace(/^Exit codes: /, "");
  assertEquals(words(helpCodes).replace(/\.$/, ""), words(readmeCodes).split(". Every error")[0]);
});

for (const name of ["bench", "regress", "make-model", "fetch-weights", "install"] as const) {
  Deno.test(`deno task ${name} --help lists every option and case the README and docs use with it`, async () => {
    const r = await taskCommand(name, ["--help"]).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const help = new TextDecoder().decode(r.stdout);
    const want = [...used.get(name) ?? []];
    const missing = want.filter((o) => !mentions(help, o));
    assertEquals(missing, [], `not in ${name} --help: ${missing.join(" ")}`);
  });
}

Deno.test({
  name: "the Python export scripts answer --help without PyTorch and list the options the docs use",
  ignore: !havePython(["argparse"]),
  fn: async () => {
    for (const script of ["export_hnoseg_xs", "export_monai_wholebody_ct"]) {
      const r = await new Deno.Command(PYTHON, {
        args: [join(ROOT, "scripts", "export", `${script}.py`), "--help"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
      const help = new TextDecoder().decode(r.stdout);
      const missing = [...used.get(script) ?? []].filter((o) => !mentions(help, o));
      assertEquals(missing, [], `not in ${script}.py --help: ${missing.join(" ")}`);
    }
  },
});
