import { ProgressReporter } from "../../lib/cli/progress.ts";
import { assert, assertEquals } from "../_assert.ts";

function sink(isTty: boolean, quiet = false, verbose = false) {
  const out: string[] = [];
  return { out, sink: { write: (t: string) => out.push(t), isTty, quiet, verbose } };
}

Deno.test("TTY: a redrawn bar with fold, tile and inputs overall; lines clear the bar", () => {
  const { out, sink: s } = sink(true);
  const p = new ProgressReporter(s);
  p.start("b.nii.gz", 1, 3);
  p.tile(0, 2, 3, 4);
  const bar = out[out.length - 1];
  assert(bar.startsWith("\r\x1b[K["), JSON.stringify(bar));
  assert(bar.includes("fold 1/2 tile 3/4 | inputs 1/3 b.nii.gz"), bar);
  assertEquals((bar.match(/#/g) ?? []).length, 9); // 3 of 8 tiles done of a 24-wide bar
  p.line("hello");
  assertEquals(out.slice(-2), ["\r\x1b[K", "hello\n"]);
});

Deno.test("off a TTY: timestamped lines, tile lines only with -v (or every 30 s); -q silences", () => {
  const { out, sink: s } = sink(false);
  const p = new ProgressReporter(s);
  p.start("a.nii", 0, 2);
  p.tile(0, 1, 1, 10);
  p.end("done");
  assertEquals(out.length, 2);
  assert(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[1\/2\] a\.nii\n$/.test(out[0]), out[0]);
  assert(/\[1\/2\] a\.nii: done \(\d+\.\d s\)\n$/.test(out[1]), out[1]);
  const v = sink(false, false, true);
  new ProgressReporter(v.sink).tile(0, 1, 1, 10);
  assert(v.out[0].includes("fold 1/1 tile 1/10"));
  const q = sink(true, true);
  const pq = new ProgressReporter(q.sink);
  pq.start("x", 0, 5);
  pq.tile(0, 1, 1, 2);
  pq.line("x");
  assertEquals(q.out, []);
});
