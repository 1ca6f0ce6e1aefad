// One proctoring session: header, risk, screenshots, timeline, actions.
// Live: follows the same SSE stream as the Proctor Center and re-fetches the detail when a change
// for this attempt arrives (no polling).
import { api } from "/static/lib/http.js";
import { $, announce, boot, el, toast } from "/static/lib/dom.js";
import { fmtDateTime, fmtTime } from "/static/lib/format.js";
import { openStream, streamBadge } from "/static/lib/sse.js";
import {
  ACTING_ROLES, networkText, proctorAction, reasonLabel, riskLevel, syncActionButtons,
} from "/static/lib/proctor-ui.js";

const attemptId = boot().attempt_id;
const SHOTS_SHOWN = 24;

let detail = null;
let position = -1; // read-model position of the detail on screen
let canAct = true;
let shotIds = "";
let showAllShots = false;
let previewIndex = 0;
let timelineKey = "";

// ---- rendering -----------------------------------------------------------------------------------

function renderHeader(s) {
  document.title = `${s.candidateName} · Session · Smart Exam`;
  $("candidate").textContent = s.candidateName || "Unknown candidate";
  $("exam").textContent = s.examTitle || "";
  const status = $("status");
  status.textContent = s.status === s.attemptStatus || !s.attemptStatus ? s.status : `${s.status} (attempt ${s.attemptStatus})`;
  status.className = `badge status-${s.status}`;
  $("started").textContent = fmtDateTime(s.startedAt);
  $("deadline").textContent = fmtDateTime(s.deadline);
  $("ended").textContent = s.endedAt ? fmtDateTime(s.endedAt) : "—";
  $("snapshot-count").textContent = String(s.snapshotCount ?? 0);
  $("flags").textContent = `${s.flagCount ?? 0} · ${s.warningCount ?? 0}`;
  $("network").textContent = networkText(s.connectivityIssues || 0);
  const risk = $("risk");
  risk.textContent = String(s.riskScore ?? 0);
  risk.className = "risk risk-" + riskLevel(s.riskScore ?? 0);
  risk.setAttribute("aria-label", `${s.riskScore ?? 0} of 100`);
  const reasons = (s.riskReasons || []).map((r) =>
    el("li", { "data-testid": "risk-reason" }, `${reasonLabel(r.type)} ×${r.count}`,
      el("span", { class: "muted" }, ` (+${r.points})`)));
  $("reasons").replaceChildren(...(reasons.length ? reasons : [el("li", { class: "muted" }, "No concerns recorded")]));
  for (const button of $("actions").querySelectorAll("button[data-action]")) {
    button.setAttribute("aria-label", `${button.textContent} ${s.candidateName}`);
  }
  syncActionButtons($("actions"), s, canAct);
}

function renderLive(live, recording) {
  const note = $("live-note");
  if (!live.enabled) { // when on, the note is the viewer's (why the server refused, if it did)
    note.hidden = false;
    note.textContent = "Live video is turned off on this server.";
  }
  $("recording-status").textContent = recording?.status || "None";
}

function shotImage(shot, index) {
  const img = el("img", { src: shot.url, alt: `Screenshot taken ${fmtDateTime(shot.takenAt)}`, loading: "lazy",
    "data-testid": "screenshot", "data-snapshot-id": shot.snapshotId });
  img.addEventListener("error", () => { img.removeAttribute("src"); img.alt = "Screenshot unavailable"; }, { once: true });
  return el("button", { type: "button", class: "shot", "aria-label": `Open screenshot taken ${fmtDateTime(shot.takenAt)}`,
    onclick: () => openPreview(index) }, img, el("span", {}, fmtTime(shot.takenAt)));
}

function renderShots(snapshots) {
  const key = snapshots.map((s) => s.snapshotId).join(",") + (showAllShots ? "+all" : "");
  if (key === shotIds) return;
  shotIds = key;
  const shown = showAllShots ? snapshots : snapshots.slice(0, SHOTS_SHOWN);
  $("shots").replaceChildren(...shown.map(shotImage));
  $("shots-empty").hidden = snapshots.length > 0;
  $("shots-count").textContent = snapshots.length ? `(${snapshots.length}, latest first)` : "";
  const more = $("shots-more");
  more.hidden = showAllShots || snapshots.length <= SHOTS_SHOWN;
  more.textContent = `Show all ${snapshots.length}`;
}

function timelineItem(item) {
  return el("li", { "data-testid": "timeline-item", class: `cat-${item.category}`, "data-kind": item.kind,
    "data-category": item.category, "data-position": item.position },
  el("time", { datetime: item.at, title: fmtDateTime(item.at) }, fmtTime(item.at)),
  el("strong", {}, item.label),
  item.detail ? el("span", { class: "detail" }, item.detail) : null);
}

function renderTimeline(items) {
  const category = $("timeline-filter").value;
  const shown = category ? items.filter((i) => i.category === category) : items;
  const key = category + ":" + shown.map((i) => i.position).join(",");
  if (key === timelineKey) return;
  const list = $("timeline");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const previous = new Set([...list.children].map((li) => li.dataset.position));
  list.replaceChildren(...shown.map(timelineItem));
  $("timeline-empty").hidden = shown.length > 0;
  if (timelineKey && nearBottom) list.scrollTop = list.scrollHeight; // follow new events at the end
  const added = timelineKey ? shown.filter((i) => !previous.has(String(i.position))) : [];
  if (added.length && added.length <= 3) announce(added.map((i) => i.label).join(", "));
  timelineKey = key;
}

// The viewer is loaded only when the server streams live, and runs while the session is Active.
let viewer = null;
async function syncLive(live, s) {
  const wanted = live.enabled && s.status === "Active";
  if (wanted && !viewer) {
    viewer = "loading";
    const { startViewer } = await import("/static/lib/live/viewer.js");
    viewer = startViewer({ attemptId, video: document.querySelector("[data-testid=live-video]"),
      statusEl: $("live").querySelector("[data-testid=live-status]"), noteEl: $("live-note") });
  } else if (!wanted && viewer && viewer !== "loading") {
    viewer.stop();
  }
}

function render() {
  const s = detail.session;
  renderHeader(s);
  renderLive(detail.live || { enabled: false }, detail.recording);
  syncLive(detail.live || { enabled: false }, s).catch((err) => console.warn("live video could not start", err));
  renderShots(detail.snapshots || []);
  renderTimeline(detail.timeline || []);
}

// ---- preview -------------------------------------------------------------------------------------

function openPreview(index) {
  const shots = detail?.snapshots || [];
  if (!shots.length) return;
  previewIndex = Math.max(0, Math.min(index, shots.length - 1));
  const shot = shots[previewIndex];
  $("preview-img").src = shot.url;
  $("preview-img").alt = `Screenshot taken ${fmtDateTime(shot.takenAt)}`;
  $("preview-title").textContent = `Screenshot ${previewIndex + 1} of ${shots.length} · ${fmtDateTime(shot.takenAt)}`;
  $("preview-prev").disabled = previewIndex === 0;
  $("preview-next").disabled = previewIndex === shots.length - 1;
  if (!$("preview").open) $("preview").showModal();
}
$("preview-prev").addEventListener("click", () => openPreview(previewIndex - 1));
$("preview-next").addEventListener("click", () => openPreview(previewIndex + 1));
$("preview").addEventListener("keydown", (e) => {
  if (e.key === "ArrowLeft") openPreview(previewIndex - 1);
  if (e.key === "ArrowRight") openPreview(previewIndex + 1);
});
$("preview").addEventListener("click", (e) => { if (e.target === $("preview")) $("preview").close(); });
$("shots-more").addEventListener("click", () => { showAllShots = true; if (detail) renderShots(detail.snapshots); });
$("timeline-filter").addEventListener("change", () => { if (detail) renderTimeline(detail.timeline); });

// ---- loading -------------------------------------------------------------------------------------

// The timeline and the screenshots come from a second read model that may lag the Proctor Center
// one by a few milliseconds: when the detail is visibly behind its own session row, ask again a
// few times (bounded backoff) instead of waiting for the next change.
const END_KINDS = new Set(["submitted", "expired", "force_ended", "session_completed", "session_cancelled"]);
function looksStale(d) {
  const s = d.session;
  const kinds = {};
  for (const item of d.timeline || []) kinds[item.kind] = (kinds[item.kind] || 0) + 1;
  if ((d.snapshots || []).length < (s.snapshotCount || 0)) return true;
  if ((kinds.flagged || 0) < (s.flagCount || 0) || (kinds.warned || 0) < (s.warningCount || 0)) return true;
  if ((s.riskReasons || []).some((r) => r.type !== "flagged" && (kinds[r.type] || 0) < r.count)) return true;
  return s.status !== "Active" && !(d.timeline || []).some((i) => END_KINDS.has(i.kind));
}
let settleTimer = null;
let settleTries = 0;
function settle() {
  clearTimeout(settleTimer);
  if (!detail || !looksStale(detail)) { settleTries = 0; return; }
  if (settleTries >= 6) return; // the next change re-fetches anyway
  settleTimer = setTimeout(() => load(), 150 * 2 ** settleTries++);
}

let inFlight = null;
let again = false;
async function load() {
  if (inFlight) { again = true; return inFlight; } // coalesce bursts of changes into one extra fetch
  inFlight = (async () => {
    try {
      const data = await api(`/api/Proctor/sessions/${encodeURIComponent(attemptId)}`);
      if ((data.session.position ?? 0) >= position) {
        const before = detail?.session;
        detail = data;
        position = data.session.position ?? 0;
        render();
        if (before && before.status !== data.session.status) announce(`Session is now ${data.session.status}`);
      }
    } catch (err) {
      if (err.status === 404) {
        $("candidate").textContent = "Session not found";
        $("exam").textContent = err.message;
        for (const b of $("actions").querySelectorAll("button")) b.disabled = true;
      } else {
        toast(`Could not load the session: ${err.message}`, "error");
      }
    }
  })();
  await inFlight;
  inFlight = null;
  if (again) { again = false; await load(); return; }
  settle();
}

for (const button of $("actions").querySelectorAll("button[data-action]")) {
  button.addEventListener("click", async () => {
    if (!detail) return;
    if (await proctorAction(button.dataset.action, detail.session)) load();
  });
}

// ---- stream --------------------------------------------------------------------------------------

let stream = null;
(async () => {
  try {
    const me = await api("/api/auth/me");
    canAct = ACTING_ROLES.includes(me.role);
  } catch { /* the server still authorizes every action */ }
  await load();
  stream = openStream("/api/Proctor/sessions/stream", {
    onState: streamBadge($("stream-state")),
    beforeReopen: load, // a fresh stream sends a new snapshot, not the changes missed meanwhile
    events: {
      snapshot: (data) => {
        const mine = data.sessions.find((s) => s.attemptId === attemptId);
        if (!mine || (mine.position ?? 0) > position) load(); // catch up on anything missed while away
      },
      session: (s) => {
        if (s.attemptId === attemptId && (s.position ?? 0) > position) { settleTries = 0; load(); }
      },
    },
  });
})();
window.addEventListener("pagehide", () => stream?.close());
