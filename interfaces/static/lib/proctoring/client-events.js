// Proctor events from the candidate's page (POST /api/Proctor/event/{attemptId}): best effort,
// one retry; failures are logged, never shown as success. Plus the page watcher that reports
// tab switches, full-screen exits and offline spells.
import { csrfHeaders, retryable } from "/static/lib/http.js";
import { jitter, sleep } from "/static/lib/backoff.js";

export const CLIENT_EVENT_TYPES = [
  "tab_hidden", "tab_visible", "fullscreen_exit", "camera_denied", "camera_restored",
  "snapshot_upload_failed", "network_offline", "network_online",
];

// Resolves true when the server accepted the event.
export async function postClientEvent(attemptId, type, detail = "") {
  const url = `/api/Proctor/event/${encodeURIComponent(attemptId)}`;
  for (let i = 0; i < 2; i++) {
    try {
      const res = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: csrfHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify({ type, detail }),
        signal: AbortSignal.timeout(10000),
      });
      if (res.ok) return true;
      if (!retryable(res.status)) {
        console.warn(`proctor event ${type} refused: HTTP ${res.status}`);
        return false;
      }
    } catch {
      /* network: retry once */
    }
    await sleep(jitter(1000));
  }
  console.warn(`proctor event ${type} could not be sent`);
  return false;
}

// Reports tab switches, full-screen exits and connectivity spells through `post(type, detail)`
// while `active()` holds. Returns a function that removes the listeners.
export function watchPage(post, active = () => true) {
  const listeners = [];
  const on = (target, type, fn) => {
    target.addEventListener(type, fn);
    listeners.push([target, type, fn]);
  };
  let offlineSince = null;
  on(document, "visibilitychange", () => {
    if (!active()) return;
    if (document.visibilityState === "hidden") post("tab_hidden", "the exam tab was hidden");
    else post("tab_visible", "the exam tab is visible again");
  });
  on(window, "offline", () => {
    offlineSince = offlineSince || new Date();
  });
  on(window, "online", async () => {
    if (!active() || !offlineSince) return;
    const since = offlineSince;
    offlineSince = null;
    const seconds = Math.round((Date.now() - since.getTime()) / 1000);
    await post("network_offline", `offline from ${since.toISOString()} for ${seconds} s`);
    post("network_online", "connection restored");
  });
  if (document.fullscreenElement !== undefined) {
    on(document, "fullscreenchange", () => {
      if (active() && !document.fullscreenElement) post("fullscreen_exit", "left full screen");
    });
  }
  return () => {
    for (const [target, type, fn] of listeners) target.removeEventListener(type, fn);
    listeners.length = 0;
  };
}
