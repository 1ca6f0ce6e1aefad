// The live-video signaling socket (LIVE_PROTOCOL.md): /ws/proctor/live/{attemptId}?peer=<clientId>.
//
// new Signaling({ attemptId }) is an EventTarget:
//   "welcome"  detail = the server's welcome ({role, peer, iceServers, iceTransportPolicy}); sent on
//              every (re)connect, so listeners re-announce themselves there
//   "message"  detail = any other message (with `from`)
//   "state"    detail {state: "connecting"|"open"|"retrying"|"refused"|"stopped", code?, reason?}
// The clientId is made once per page load, so a reconnect (a server restart) keeps the same peer id.
import { backoffDelay, waitOrOnline } from "/static/lib/backoff.js";

// The server will refuse again whatever we do: show why and stop.
export const PERMANENT_CLOSE_CODES = new Set([4400, 4403, 4404, 4409, 4503]);
export const CLOSE_REASONS = {
  4400: "the server did not understand a message",
  4401: "you are not logged in",
  4403: "not allowed",
  4404: "no such attempt",
  4409: "the attempt is not active",
  4429: "too many messages",
  4503: "live video is turned off on this server",
};
const BACKOFF = { baseMs: 500, capMs: 10000, maxExponent: 5 };
const WELCOME_WITHIN_MS = 10000; // a socket that opens but never welcomes is as good as closed

/** @returns {string} 22 chars of [A-Za-z0-9_-] */
export function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class Signaling extends EventTarget {
  /** @param {{attemptId: string, clientId?: string}} options */
  constructor({ attemptId, clientId = newClientId() }) {
    super();
    this.attemptId = attemptId;
    this.clientId = clientId;
    /** @type {WebSocket|null} */
    this.ws = null;
    this.welcome = null;
    this.state = "idle";
    this.failures = 0; // consecutive connects that ended without a welcome
    this.opens = 0; // welcomes received (test hook / diagnostics)
    this.lastClose = null; // {code, reason}
    this._wait = null; // AbortController of the pending retry wait
  }

  get url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const path = `/ws/proctor/live/${encodeURIComponent(this.attemptId)}`;
    return `${scheme}://${location.host}${path}?peer=${encodeURIComponent(this.clientId)}`;
  }

  get isOpen() {
    return this.state === "open" && this.ws?.readyState === WebSocket.OPEN;
  }

  _setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...extra } }));
  }

  start() {
    if (this.state === "idle") this._connect();
    return this;
  }

  _connect() {
    if (this.state === "stopped" || this.state === "refused") return;
    this._setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) { // a CSP or URL problem: retrying cannot help
      this._setState("refused", { code: 0, reason: String(err?.message || err) });
      return;
    }
    this.ws = ws;
    const timer = setTimeout(() => { if (ws === this.ws && this.state === "connecting") ws.close(4000, "no welcome"); }, WELCOME_WITHIN_MS);
    ws.addEventListener("close", () => clearTimeout(timer));
    ws.addEventListener("message", (event) => this._onMessage(ws, event));
    ws.addEventListener("close", (event) => this._onClose(ws, event));
  }

  _onMessage(ws, event) {
    if (ws !== this.ws) return;
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!msg || typeof msg.type !== "string") return;
    if (msg.type === "welcome") {
      this.welcome = msg;
      this.failures = 0;
      this.opens += 1;
      this._setState("open");
      this.dispatchEvent(new CustomEvent("welcome", { detail: msg }));
      return;
    }
    this.dispatchEvent(new CustomEvent("message", { detail: msg }));
  }

  async _onClose(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.lastClose = { code: event.code, reason: event.reason || CLOSE_REASONS[event.code] || "" };
    if (this.state === "stopped") return;
    if (PERMANENT_CLOSE_CODES.has(event.code)) {
      this._setState("refused", this.lastClose);
      return;
    }
    this.failures += 1;
    const delay = backoffDelay(this.failures, BACKOFF);
    this._setState("retrying", { ...this.lastClose, delayMs: delay });
    this._wait = new AbortController();
    const why = await waitOrOnline(delay, this._wait.signal);
    this._wait = null;
    if (why !== "aborted") this._connect();
  }

  /** Sends one message; false when the socket is not open (the caller re-sends on "welcome"). */
  send(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Test hook: drops the socket as a network failure would; the retry policy takes over. */
  drop() {
    this.ws?.close(4000, "dropped by the page");
  }

  /** Closes for good (after a bye). Idempotent. */
  stop() {
    if (this.state === "stopped") return;
    this._setState("stopped");
    this._wait?.abort();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "bye");
  }
}
