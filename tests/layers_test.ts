/**
 * The house rules for imports: lib/ is a stack of wings, each importing only
 * from itself or from lower wings; no file-level import cycles anywhere in
 * lib/, scripts/, cli.ts and mod.ts (type imports, dynamic `import()` and
 * `new URL("./x.ts", import.meta.url)` workers count); lib/ holds few loose
 * files; and nothing in lib/ outside lib/cli reaches the command line.
 *
 * @module
 */
import { dirname, join, normalize } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { assertEquals } from "./_assert.ts";

const ROOT = fromFileUrl(new URL("..", import.meta.url));

/** Wings of lib/, lowest first. lib/engine/passes counts as engine. */
const WINGS = [
  "core",
  "geometry",
  "io",
  "numerics",
  "inference",
  "engine",
  "cards",
  "outputs",
  "run",
  "prompt",
  "bids",
  "web",
  "view",
  "cli",
];

/** Most `.ts` files allowed directly in lib/. */
const MAX_LOOSE = 6;

/**
 * Known exceptions, each a cycle (`cycle: a b`, members sorted) or an edge
 * (`from -> to`). They belong to the pipeline rewrite (lib/run/segment.ts,
 * card_segment.ts, cli.ts), which removes them; a stale entry fails the test
 * so this list only shrinks.
 */
const KNOWN: string[] = [];

async function walk(dir: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) await walk(p, out);
    else if (e.isFile && p.endsWith(".ts")) out.push(p);
  }
}

const STATIC = /^[ \t]*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm;
const BARE = /^[ \t]*import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
const WORKER = /new URL\(\s*["']([^"']+\.ts)["']\s*,\s*import\.meta\.url\s*\)/g;

/** Relative `.ts` imports of `file` (repository-relative paths). */
export function importsOf(file: string, text: string): string[] {
  const specs: string[] = [];
  for (const re of [STATIC, BARE]) for (const m of text.matchAll(re)) specs.push(m[1]);
  for (const line of text.split("\n")) {
    const t = line.trimStart();
    if (t.startsWith("*") || t.startsWith("//")) continue;
    for (const re of [DYNAMIC, WORKER]) for (const m of line.matchAll(re)) specs.push(m[1]);
  }
  const out = new Set<string>();
  for (const s of specs) {
    if (!(s.startsWith("./") || s.startsWith("../")) || !s.endsWith(".ts")) continue;
    out.add(normalize(join(dirname(file), s)).replaceAll("\\", "/"));
  }
  return [...out].sort();
}

async function graph(): Promise<Map<string, string[]>> {
  const files = ["cli.ts", "mod.ts"];
  await walk("lib", files);
  await walk("scripts", files);
  const g = new Map<string, string[]>();
  for (const f of files.sort()) g.set(f, importsOf(f, await Deno.readTextFile(join(ROOT, f))));
  return g;
}

/** Strongly connected components with more than one member (or a self loop). */
function cycles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** Rank of a lib/ file's wing; loose lib/*.ts files and unknown wings rank above cli. */
function rank(file: string): number {
  const parts = file.split("/");
  if (parts[0] !== "lib" || parts.length < 3) return WINGS.length;
  const i = WINGS.indexOf(parts[1]);
  return i < 0 ? WINGS.length : i;
}

async function problems(): Promise<{ cycles: string[]; layers: string[]; cli: string[]; loose: string[] }> {
  const g = await graph();
  const layers: string[] = [];
  const cli: string[] = [];
  for (const [from, tos] of g) {
    if (!from.startsWith("lib/")) continue;
    for (const to of tos) {
      if (to.startsWith("lib/") && rank(to) > rank(from)) layers.push(`${from} -> ${to}`);
      const reachesCli = to.startsWith("lib/cli/") || to === "cli.ts" || to === "mod.ts";
      if (reachesCli && !from.startsWith("lib/cli/")) cli.push(`${from} -> ${to}`);
    }
  }
  const loose = [...g.keys()].filter((f) => f.startsWith("lib/") && f.split("/").length === 2);
  return { cycles: cycles(g).map((c) => `cycle: ${c.join(" ")}`), layers, cli, loose };
}

function unknown(found: string[]): string[] {
  return found.filter((p) => !KNOWN.includes(p));
}

Deno.test("layers: the import parser sees every kind of relative import", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type {\n  B,\n  C,\n} from "../b/b.ts";',
    'export { d } from "./d.ts";',
    'export * from "./e.ts";',
    'import "./f.ts";',
    'const m = await import("./g.ts");',
    'const w = new Worker(new URL("./h.ts", import.meta.url), { type: "module" });',
    ' * import { x } from "./doc.ts";',
    '// const y = await import("./comment.ts");',
    'import x from "npm:x";',
    'import j from "./j.json" with { type: "json" };',
  ].join("\n");
  assertEquals(importsOf("lib/x/y.ts", text), [
    "lib/b/b.ts",
    "lib/x/a.ts",
    "lib/x/d.ts",
    "lib/x/e.ts",
    "lib/x/f.ts",
    "lib/x/g.ts",
    "lib/x/h.ts",
  ]);
});

Deno.test("layers: no import cycles among lib/, scripts/, cli.ts and mod.ts", async () => {
  assertEquals(unknown((await problems()).cycles), []);
});

Deno.test("layers: every lib/ import points to its own or a lower wing", async () => {
  assertEquals(unknown((await problems()).layers), [], `wing order, lowest first: ${WINGS.join(" < ")}`);
});

Deno.test("layers: nothing in lib/ outside lib/cli imports lib/cli, cli.ts or mod.ts", async () => {
  assertEquals(unknown((await problems()).cli), []);
});

Deno.test("layers: at most a few loose .ts files directly in lib/", async () => {
  const { loose } = await problems();
  assertEquals(loose.length <= MAX_LOOSE, true, `loose files in lib/: ${loose.join(", ")}`);
});

Deno.test("layers: every KNOWN exception still exists (remove fixed ones)", async () => {
  const p = await problems();
  const all = new Set([...p.cycles, ...p.layers, ...p.cli]);
  assertEquals(KNOWN.filter((k) => !all.has(k)), []);
});

Deno.test("layers: every lib/ wing folder has a README.md", async () => {
  const missing: string[] = [];
  for (const w of WINGS) {
    try {
      await Deno.stat(join(ROOT, "lib", w, "README.md"));
    } catch {
      missing.push(`lib/${w}/README.md`);
    }
  }
  assertEquals(missing, []);
});
