/**
 * Progress for people and for logs: a redrawn bar on a TTY (this input's
 * tiles × folds, and inputs overall), plain timestamped lines otherwise
 * (cluster job logs), nothing with -q.
 *
 * @module
 */

/** Where progress goes. */
export interface ProgressSink {
  /** Raw text (no newline added) to stderr. */
  write: (text: string) => void;
  isTty: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** Tracks one run of one or more inputs. */
export class ProgressReporter {
  #sink: ProgressSink;
  #input = "";
  #k = 0;
  #n = 1;
  #lastLine = 0;
  #t0 = 0;
  #drawn = false;

  /** Creates a reporter writing to `sink`. */
  constructor(sink: ProgressSink) {
    this.#sink = sink;
  }

  /** A line for the log (clears the bar first on a TTY). */
  line(text: string): void {
    if (this.#sink.quiet) return;
    if (this.#drawn) {
      this.#sink.write("\r\x1b[K");
      this.#drawn = false;
    }
    this.#sink.write(this.#sink.isTty ? `${text}\n` : `${new Date().toISOString()} ${text}\n`);
  }

  /** Starts input `k` (0-based) of `n`. */
  start(name: string, k = 0, n = 1): void {
    this.#input = name;
    this.#k = k;
    this.#n = n;
    this.#t0 = performance.now();
    if (n > 1) this.line(`[${k + 1}/${n}] ${name}`);
  }

  /** After a tile: fold (0-based) of folds, tile (1-based) of tiles. */
  tile(fold: number, folds: number, tile: number, tiles: number): void {
    if (this.#sink.quiet) return;
    const done = fold * tiles + tile, total = folds * tiles;
    if (this.#sink.isTty) {
      const w = 24;
      const fill = Math.round((done / total) * w);
      const bar = "#".repeat(fill) + "-".repeat(w - fill);
      const overall = this.#n > 1 ? ` | inputs ${this.#k}/${this.#n}` : "";
      this.#sink.write(`\r\x1b[K[${bar}] fold ${fold + 1}/${folds} tile ${tile}/${tiles}${overall} ${this.#input}`);
      this.#drawn = true;
    } else if (this.#sink.verbose || performance.now() - this.#lastLine > 30_000) {
      this.#lastLine = performance.now();
      this.line(`[${this.#k + 1}/${this.#n}] ${this.#input}: fold ${fold + 1}/${folds} tile ${tile}/${tiles}`);
    }
  }

  /** Ends the current input. */
  end(status: string): void {
    const s = ((performance.now() - this.#t0) / 1000).toFixed(1);
    this.line(`[${this.#k + 1}/${this.#n}] ${this.#input}: ${status} (${s} s)`);
  }
}
