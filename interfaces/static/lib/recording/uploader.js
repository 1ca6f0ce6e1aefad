// The upload queue: drains the outbox of one attempt, oldest chunk first, one at a time.
//   POST /api/Proctor/video-chunk/{attemptId}?segment=K&seq=N[&final=1], body = the chunk,
//   Content-Type = its mime, X-Chunk-Sha256 = its sha256, final=1 on a segment's last chunk
//   (plus X-Segment-Started-At, the wall-clock start of its segment, for the record).
//   201 / 200 (same bytes again)  acknowledged: deleted from the outbox
//   409 / 413 / 415 / 422 / other 4xx  kept, reported ("rejected"), not retried by this page
//   410  the recording is closed: the attempt's outbox is cleared ("closed"), the queue ends
//   401 / 403 / 404  the queue ends ("stopped"); the chunks stay
//   network error, timeout, 5xx, 408, 429  retried with backoff + jitter (cap ~30 s)
// After a failure it waits (state "offline" when the browser says so, else "waiting"); the
// browser's `online` event ends the wait at once. navigator.onLine never blocks a try: it is
// false on a machine with only loopback (checked in Chromium), where the server may still be
// reachable. A new page sends what the last one left behind (the outbox is per attempt).
//
// new ChunkUploader({ attemptId, outbox }) is an EventTarget:
//   "state"    detail {state: "idle"|"uploading"|"waiting"|"offline"|"closed"|"stopped", backlog}
//   "acked"    detail {segment, seq, status, backlog}
//   "rejected" detail {segment, seq, status, error, detail}
//   "retry"    detail {segment, seq, status, failures, delayMs}
//   "closed"   detail {status, detail}        "stopped"  detail {status, detail}
//   "error"    detail {error}   the outbox could not be read or written (retried with backoff)
// start(); kick() (a new chunk is in the outbox); drained() -> resolves when nothing sendable is
// left; stop().
import { csrfHeaders, readJson, retryable } from "/static/lib/http.js";
import { backoffDelay, waitOrOnline } from "/static/lib/backoff.js";

const ENDS_QUEUE = new Set([401, 403, 404]);

export function chunkUrl(attemptId, segment, seq, final = false) {
  const url = `/api/Proctor/video-chunk/${encodeURIComponent(attemptId)}?segment=${segment}&seq=${seq}`;
  return final ? `${url}&final=1` : url;
}

export class ChunkUploader extends EventTarget {
  constructor({ attemptId, outbox, baseDelayMs = 1000, maxDelayMs = 30000, timeoutMs = 30000 }) {
    super();
    this.attemptId = attemptId;
    this.outbox = outbox;
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.timeoutMs = timeoutMs;
    this.state = "idle";
    this.backlog = 0;
    this.failures = 0;
    this._held = new Set(); // "segment:seq" the server refused: kept, not sent again by this page
    this._running = false;
    this._ended = false;
    this._abort = new AbortController();
    this._wake = null;
    this._idle = [];
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state, backlog: this.backlog });
  }

  async _refreshBacklog(known = null) {
    const backlog = known ?? await this.outbox.count(this.attemptId);
    if (backlog !== this.backlog) {
      this.backlog = backlog;
      this.emit("state", { state: this.state, backlog });
    }
  }

  start() {
    if (this._running || this._ended) return;
    this._running = true;
    this._loop().finally(() => { this._running = false; });
  }

  kick() {
    this._wake?.();
  }

  // Resolves when the queue has nothing left it can send (empty, or only refused chunks), or it ended.
  drained() {
    if (this._ended) return Promise.resolve();
    const idle = new Promise((resolve) => this._idle.push(resolve));
    this.start();
    this.kick();
    return idle;
  }

  stop() {
    this._end("stopped", {});
  }

  _end(state, detail) {
    if (this._ended) return;
    this._ended = true;
    this._abort.abort();
    this._wake?.();
    this._setState(state);
    if (state !== "stopped" || detail.status) this.emit(state, detail);
    this._idle.splice(0).forEach((resolve) => resolve());
  }

  _sleepUntilKicked() {
    return new Promise((resolve) => {
      const onOnline = () => done();
      const done = () => {
        window.removeEventListener("online", onOnline);
        this._wake = null;
        resolve();
      };
      this._wake = done;
      window.addEventListener("online", onOnline);
    });
  }

  // The oldest chunk this page may send, or null. Reads keys only, then that one chunk.
  async _next() {
    const keys = await this.outbox.keys(this.attemptId);
    await this._refreshBacklog(keys.length);
    const key = keys.find(([, segment, seq]) => !this._held.has(`${segment}:${seq}`));
    return key ? (await this.outbox.get(...key)) || null : null;
  }

  async _loop() {
    let storageFailures = 0;
    while (!this._ended) {
      try {
        const chunk = await this._next();
        if (this._ended) return;
        if (!chunk) {
          this._setState("idle");
          this._idle.splice(0).forEach((resolve) => resolve());
          await this._sleepUntilKicked();
          continue;
        }
        this._setState("uploading");
        await this._handle(chunk, await this._send(chunk));
        storageFailures = 0;
      } catch (error) { // IndexedDB failed (quota, a closed database): report, wait, try again
        this.emit("error", { error });
        storageFailures += 1;
        await waitOrOnline(backoffDelay(storageFailures, { baseMs: this.baseDelayMs, capMs: this.maxDelayMs }), this._abort.signal);
      }
    }
  }

  async _send(chunk) {
    try {
      const res = await fetch(chunkUrl(this.attemptId, chunk.segment, chunk.seq, chunk.final), {
        method: "POST",
        credentials: "same-origin",
        headers: csrfHeaders({
          "Content-Type": chunk.mime,
          "X-Chunk-Sha256": chunk.sha256,
          ...(chunk.startedAt ? { "X-Segment-Started-At": chunk.startedAt } : {}),
        }),
        body: chunk.blob,
        signal: AbortSignal.any([this._abort.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      const data = res.ok ? null : await readJson(res);
      return { status: res.status, error: data?.error || (res.ok ? "" : "HttpError"), detail: data?.detail || res.statusText };
    } catch (err) {
      if (this._ended) return { status: -1 };
      return { status: 0, error: err?.name || "NetworkError", detail: err?.name === "TimeoutError" ? "upload timed out" : "network error" };
    }
  }

  async _handle(chunk, result) {
    const { segment, seq } = chunk;
    const { status } = result;
    if (status === -1) return; // stopped while sending: the chunk stays for the next page
    if (status === 200 || status === 201) {
      this.failures = 0;
      await this.outbox.delete(this.attemptId, segment, seq);
      await this._refreshBacklog();
      this.emit("acked", { segment, seq, status, backlog: this.backlog });
    } else if (status === 410) {
      await this.outbox.clear(this.attemptId);
      await this._refreshBacklog();
      this._end("closed", result);
    } else if (ENDS_QUEUE.has(status)) {
      this._end("stopped", result);
    } else if (retryable(status)) {
      this.failures += 1;
      const delayMs = backoffDelay(this.failures, { baseMs: this.baseDelayMs, capMs: this.maxDelayMs });
      this.emit("retry", { segment, seq, status, failures: this.failures, delayMs });
      this._setState(navigator.onLine ? "waiting" : "offline");
      await waitOrOnline(delayMs, this._abort.signal);
    } else {
      this._held.add(`${segment}:${seq}`);
      this.emit("rejected", { segment, seq, ...result });
    }
  }
}
