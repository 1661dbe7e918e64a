/**
 * Ctrl-C and SIGTERM that work while the main thread is busy.
 *
 * onnxruntime-node runs each network call synchronously on the JS thread
 * (inside a `setImmediate`), and preprocessing is synchronous JS too, so a
 * signal listener on the main thread runs only after the current tile —
 * minutes on a real model. A small watchdog worker owns the listeners
 * instead: its event loop is always free, it keeps a mirror of the temp
 * files and locks in flight, removes them, prints one line and leaves with
 * the C library's `_exit` (130 for SIGINT, 143 for SIGTERM). Nothing
 * partial can be left: outputs appear only by renaming finished files.
 *
 * `_exit` needs FFI; without it (or on Windows) the listeners stay on the
 * main thread, which handles signals between blocking calls.
 *
 * @module
 */

/** What the watchdog is told: a temp path to add or drop. */
type Note = { add: string } | { drop: string };

/** The C library holding `_exit`, per platform (undefined: no watchdog). */
export function libcName(os: string = Deno.build.os): string | undefined {
  if (os === "linux") return "libc.so.6";
  if (os === "darwin") return "libSystem.B.dylib";
  return undefined;
}

const WATCHDOG = (libc: string) => `
const temps = new Set();
const lib = Deno.dlopen(${JSON.stringify(libc)}, { _exit: { parameters: ["i32"], result: "void" } });
self.onmessage = (e) => {
  const m = e.data;
  if ("add" in m) temps.add(m.add);
  else temps.delete(m.drop);
};
for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
  Deno.addSignalListener(sig, () => {
    for (const p of temps) {
      try { Deno.removeSync(p, { recursive: true }); } catch { /* already gone */ }
    }
    try {
      Deno.stderr.writeSync(new TextEncoder().encode("siamize: interrupted (" + sig + "); no partial outputs left\\n"));
    } catch { /* stderr closed */ }
    lib.symbols._exit(code);
  });
}
self.postMessage("ready");
`;

let watchdog: Worker | undefined;

/** Tells the watchdog (when running) about a temp path added or dropped. */
export function noteTemp(note: Note): void {
  watchdog?.postMessage(note);
}

/**
 * Starts the watchdog worker that handles SIGINT / SIGTERM; resolves to
 * false (nothing started) where it cannot run: no `_exit` on this platform,
 * no FFI permission, or the worker failed to start. `temps` are the paths
 * already in flight.
 */
export async function startWatchdog(temps: Iterable<string> = []): Promise<boolean> {
  if (watchdog) return true;
  const libc = libcName();
  if (!libc) return false;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  } catch {
    return false;
  }
  const url = URL.createObjectURL(new Blob([WATCHDOG(libc)], { type: "text/javascript" }));
  try {
    const w = new Worker(url, { type: "module" });
    const ok = await new Promise<boolean>((resolve) => {
      w.onmessage = () => resolve(true);
      w.onerror = (e) => {
        e.preventDefault();
        resolve(false);
      };
    });
    if (!ok) {
      w.terminate();
      return false;
    }
    w.onmessage = null;
    watchdog = w;
    for (const p of temps) w.postMessage({ add: p });
    return true;
  } catch {
    return false;
  } finally {
    URL.revokeObjectURL(url);
  }
}
