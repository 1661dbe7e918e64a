/**
 * Server-sent events of a `siamize view` server: every page connected to
 * `api/events` gets each event as one `data:` line of JSON. The events of
 * the current run are kept and replayed to a page that connects late.
 *
 * @module
 */

/** One event: `type` says what happened (`stage`, `tile`, `log`, `done`, `error`, `cancelled`, …). */
export interface ViewEvent {
  /** What happened. */
  type: string;
  /** Its details. */
  [key: string]: unknown;
}

const enc = new TextEncoder();

/** The event stream: publish to every connected page. */
export class EventHub {
  #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #history: Uint8Array[] = [];

  /** Sends `event` to every page; `fresh` starts a new history (a new run). */
  publish(event: ViewEvent, fresh = false): void {
    if (fresh) this.#history = [];
    const chunk = enc.encode(`data: ${JSON.stringify(event)}\n\n`);
    this.#history.push(chunk);
    for (const c of this.#clients) {
      try {
        c.enqueue(chunk);
      } catch {
        this.#clients.delete(c);
      }
    }
  }

  /** A new stream for one page, starting with the current run's events so far. */
  stream(): ReadableStream<Uint8Array> {
    let me: ReadableStreamDefaultController<Uint8Array>;
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        me = c;
        c.enqueue(enc.encode(": siamize view\n\n"));
        for (const h of this.#history) c.enqueue(h);
        this.#clients.add(c);
      },
      cancel: () => {
        this.#clients.delete(me);
      },
    });
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    for (const c of this.#clients) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#clients.clear();
  }
}
