/**
 * Headless Chromium for the browser tests, driven by `npm:puppeteer-core`.
 *
 * The browser is Debian's `chromium` (or the one named by
 * `SIAMIZE_CHROMIUM`). Where none is installed the tests skip with
 * {@linkcode chromiumMissing}'s reason, except under `SIAMIZE_REQUIRE_CHROMIUM=1`
 * (set by `.ci/run`, which installs it), where a missing browser fails.
 * WebGPU: Chromium's own SwiftShader adapter with `--enable-unsafe-webgpu`.
 *
 * @module
 */
import puppeteer, { type Browser } from "puppeteer-core";

const CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The Chromium executable, or undefined where none is installed. */
export function chromiumPath(): string | undefined {
  const named = Deno.env.get("SIAMIZE_CHROMIUM");
  if (named) return named;
  return CANDIDATES.find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * Why the browser tests cannot run here (no Chromium), or undefined when
 * they can. Throws under `SIAMIZE_REQUIRE_CHROMIUM=1` instead of giving a
 * reason, so CI never skips them.
 */
export function chromiumMissing(): string | undefined {
  if (chromiumPath()) return undefined;
  const why = `no Chromium (tried ${CANDIDATES.join(", ")}; set SIAMIZE_CHROMIUM or apt-get install chromium)`;
  if (Deno.env.get("SIAMIZE_REQUIRE_CHROMIUM") === "1") {
    throw new Error(`SIAMIZE_REQUIRE_CHROMIUM=1 but ${why}`);
  }
  return why;
}

/** Options of {@linkcode launchChromium}. */
export interface LaunchOptions {
  /** Turn on WebGPU (`--enable-unsafe-webgpu`: Chromium's SwiftShader adapter). @default false */
  webgpu?: boolean;
  /** Window size in CSS pixels. @default [1280, 900] */
  size?: [number, number];
}

/** Starts headless Chromium; close it with `browser.close()` in a `finally`. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(chromiumMissing() ?? "no Chromium");
  const [w, h] = options.size ?? [1280, 900];
  return await puppeteer.launch({
    executablePath,
    headless: true,
    // Root in a container has no user namespace for Chromium's sandbox.
    args: [
      "--no-sandbox",
      "--no-first-run",
      "--disable-dev-shm-usage",
      `--window-size=${w},${h}`,
      ...(options.webgpu ? ["--enable-unsafe-webgpu"] : []),
    ],
    defaultViewport: { width: w, height: h },
  });
}
