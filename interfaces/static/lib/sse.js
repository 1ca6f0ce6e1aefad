// Server-Sent Events with one reconnect policy for every page.
//
// openStream(url, { events: { name: (data, event) => … }, onState, beforeReopen }) -> { close() }
//   - while the browser resumes a dropped stream by itself (readyState CONNECTING, with
//     Last-Event-ID) the state is "reconnecting" and nothing else is done;
//   - when the server ended it for good (readyState CLOSED: restarted, refused, signed out) a
//     fresh stream is opened after backoffDelay(failures), or at once when the browser fires
//     `online`; `beforeReopen()` runs first (reload what a fresh stream will not replay);
//   - states: "connecting" | "connected" | "reconnecting"; an open or any message is "connected"
//     and resets the failure count.
// Handlers get the parsed JSON data; a message that is not JSON is ignored.
import { backoffDelay, waitOrOnline } from "/static/lib/backoff.js";

export function openStream(url, { events = {}, onState = () => {}, beforeReopen = null } = {}) {
  let source = null;
  let failures = 0;
  let closed = false;
  let waiting = null; // AbortController of the pending reopen wait

  const connected = () => {
    failures = 0;
    onState("connected");
  };

  const open = () => {
    if (closed) return;
    onState(failures ? "reconnecting" : "connecting");
    const current = new EventSource(url);
    source = current;
    current.addEventListener("open", connected);
    for (const [name, handler] of Object.entries(events)) {
      current.addEventListener(name, (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        connected();
        handler(data, event);
      });
    }
    current.addEventListener("error", () => {
      if (closed || source !== current) return;
      failures += 1;
      onState("reconnecting");
      if (current.readyState === EventSource.CLOSED) reopenLater();
    });
  };

  const reopenLater = async () => {
    source?.close();
    source = null;
    waiting = new AbortController();
    const why = await waitOrOnline(backoffDelay(failures), waiting.signal);
    waiting = null;
    if (why === "aborted" || closed) return;
    if (beforeReopen) {
      try {
        await beforeReopen();
      } catch (err) {
        console.warn("before reopening the stream", err);
      }
    }
    open();
  };

  open();
  return {
    close() {
      closed = true;
      waiting?.abort();
      source?.close();
      source = null;
    },
  };
}

// An onState callback that shows the stream's state in a badge (staff pages).
export function streamBadge(node) {
  return (state) => {
    if (!node) return;
    node.dataset.state = state;
    node.textContent = { connected: "● Live updates", connecting: "○ Connecting…", reconnecting: "○ Reconnecting…" }[state] || state;
    node.className = "badge stream-" + state;
  };
}
