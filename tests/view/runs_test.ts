import { join } from "../../lib/core/_std.ts";
import { startViewServer } from "../../lib/view/server.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";

const PHANTOM = join(GOLDEN, "phantom.nii.gz");

/** Reads server-sent events from the response `r` until `stop` says so (or the stream ends); the events. */
async function events(r: Response, stop: (e: Record<string, unknown>) => boolean | Promise<boolean>) {
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  const got: Record<string, unknown>[] = [];
  let buf = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return got;
      buf += value;
      let k;
      while ((k = buf.indexOf("\n\n")) >= 0) {
        const chunk = buf.slice(0, k);
        buf = buf.slice(k + 2);
        if (!chunk.startsWith("data: ")) continue;
        const e = JSON.parse(chunk.slice(6));
        got.push(e);
        if (await stop(e)) return got;
      }
    }
  } finally {
    await reader.cancel();
  }
}

/** A network stand-in: class 3 everywhere, 150 ms per tile (long enough to cancel mid-run). */
const slowBackend = {
  create: () =>
    Promise.resolve({
      inputName: "x",
      outputName: "logits",
      classes: 18,
      provider: "cpu",
      run: (tile: Float32Array) =>
        new Promise<Float32Array>((ok) =>
          setTimeout(() => ok(new Float32Array(18 * tile.length).fill(1, 3 * tile.length, 4 * tile.length)), 150)
        ),
      release: () => Promise.resolve(),
    }),
};

Deno.test({
  name: "view runs: progress per stage and tile as events; cancel stops the run with the CLI's line; one run at a time",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const model = await tinyModel();
    const s = await startViewServer({ scan: PHANTOM, backend: slowBackend });
    try {
      const post = async (route: string, body?: unknown) => {
        const r = await fetch(`${s.url}api/${route}`, { method: "POST", body: JSON.stringify(body ?? {}) });
        return { status: r.status, body: await r.json() };
      };
      // A small patch: many tiles, time to cancel after the first.
      const req = { models: model, patch: "64x64x32", spacing: "1", compute: "cpu", threads: 1 };
      const stream = await fetch(`${s.url}api/events`); // subscribed before the run starts
      const started = await post("run", req);
      assertEquals(started.status, 200, JSON.stringify(started.body));
      const again = await post("run", req);
      assertEquals(again.status, 409);
      assertEquals(again.body.error, "siamize: a run is going on: cancel it first");
      const got = await events(stream, async (e) => {
        if (e.type === "tile" && e.tile === 1) assertEquals((await post("cancel")).body, { cancelled: true });
        return e.type === "cancelled" || e.type === "done" || e.type === "error";
      });
      const types = got.map((e) => e.type);
      assertEquals(types[0], "start");
      assertEquals(
        got.filter((e) => e.type === "stage").map((e) => e.stage),
        ["read", "load", "preprocess", "inference"],
      );
      const tiles = got.filter((e) => e.type === "tile");
      assert(tiles.length >= 1 && (tiles[0].tiles as number) > 2, JSON.stringify(tiles[0]));
      assert(tiles.length < (tiles[0].tiles as number), "the run went on to its last tile");
      assertEquals(got.at(-1), { type: "cancelled", run: 1, line: "siamize: interrupted" });
      assertEquals((await post("cancel")).body, { cancelled: false });
      // A usage error (bad patch) is refused before the run starts, with the CLI's line.
      const bad = await post("run", { ...req, patch: "64x64" });
      assertEquals(bad.status, 400);
      assert(/^siamize: .*64x64/.test(bad.body.error), bad.body.error);
      const badCard = await post("run", { ...req, card: "../secret.json" });
      assertEquals(badCard.status, 400);
    } finally {
      await s.close();
    }
  },
});
