// Proctor Center: a live grid of proctoring sessions.
// Loads with GET /api/Proctor/sessions, then follows /api/Proctor/sessions/stream (SSE, no polling).
// Every change carries a read-model position; a change older than what a card already shows is ignored,
// so a GET racing the stream can never roll a card back.
import {
  api, el, fmtTime, initials, networkText, proctorAction, reasonLabel, riskLevel, showStream, toast,
} from "/static/api.js";

const grid = document.getElementById("sessions");
const empty = document.getElementById("empty");
const summary = document.getElementById("summary");
const announcer = document.getElementById("announce");
const streamState = document.getElementById("stream-state");
const statusSelect = document.getElementById("status-filter");
const textFilter = document.getElementById("text-filter");
const sortSelect = document.getElementById("sort");

const sessions = new Map(); // attemptId -> Session (only those with the current status)
const latest = new Map(); // attemptId -> newest Session seen, any status (never samples)
const cards = new Map(); // attemptId -> card element
let canAct = true; // proctor/admin; a supervisor only watches
let loading = null; // Promise of the current GET; stream events wait for it
let source = null;
let retry = 0;

const params = new URLSearchParams(location.search);
if (["Active", "Completed", "Cancelled"].includes(params.get("status"))) statusSelect.value = params.get("status");
if (params.get("q")) textFilter.value = params.get("q");
if (["risk", "name", "started"].includes(params.get("sort"))) sortSelect.value = params.get("sort");

const status = () => statusSelect.value;
const realCount = () => [...sessions.values()].filter((s) => !s.isSample).length;

function announce(text) {
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
}

function timeAgo(iso) {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return fmtTime(iso);
}

// ---- cards -------------------------------------------------------------------------------------

function avatar(s) {
  return el("div", { class: "avatar", role: "img", "aria-label": `No snapshot yet for ${s.candidateName}`,
    "data-testid": "avatar" }, initials(s.candidateName));
}

function setMedia(card, s) {
  const box = card.querySelector(".media");
  const current = box.querySelector("img.thumb");
  const url = s.latestSnapshotUrl;
  if (url && current && current.getAttribute("src") === url) return;
  if (url && box.dataset.failed === url) return; // this one failed already: keep the avatar
  let node;
  if (url) {
    node = el("img", { class: "thumb", src: url, alt: `Latest snapshot of ${s.candidateName}`,
      decoding: "async" });
    node.addEventListener("error", () => {
      box.dataset.failed = url;
      node.replaceWith(avatar(s));
    }, { once: true });
  } else {
    if (box.querySelector(".avatar")) return;
    node = avatar(s);
  }
  box.querySelector("img.thumb, .avatar")?.remove();
  box.prepend(node);
}

function actionButton(kind, label, s, extra = {}) {
  return el("button", { type: "button", "data-action": kind, "aria-label": `${label} ${s.candidateName}`,
    ...extra, onclick: async () => {
      const current = sessions.get(s.attemptId) || s;
      if (await proctorAction(kind, current)) announce(`${label} done for ${current.candidateName}`);
    } }, label);
}

function buildCard(s) {
  const nameId = "name-" + s.attemptId;
  const card = el("article", { class: "card session-card", role: "listitem", "data-testid": "session-card",
    "data-attempt-id": s.attemptId, "aria-labelledby": nameId },
  el("div", { class: "media" },
    el("span", { class: "badge", "data-testid": "live-status" })),
  el("div", { class: "who" },
    el("h2", { id: nameId, "data-field": "name" }),
    s.isSample ? el("span", { class: "badge sample", "data-testid": "sample-badge",
      title: "Example card: shown while no exam is running; actions are disabled" }, "Sample") : null),
  el("p", { class: "exam", "data-field": "exam" }),
  el("dl", { class: "kv" },
    el("dt", {}, "Snapshots"),
    el("dd", {}, el("span", { "data-testid": "snapshot-count" }), " · last ",
      el("time", { "data-field": "last-snapshot" })),
    el("dt", {}, "Risk"),
    el("dd", {}, el("span", { class: "risk", "data-testid": "risk-score" }), " ",
      el("span", { "data-field": "top-reason", class: "muted" })),
    el("dt", {}, "Network"),
    el("dd", { class: "net", "data-testid": "connectivity" }),
    el("dt", {}, "Started"),
    el("dd", {}, el("time", { "data-field": "started" }), el("span", { "data-field": "ended" }))),
  el("div", { class: "card-actions" },
    s.isSample
      ? el("button", { type: "button", disabled: true, "aria-label": `View ${s.candidateName} (sample)` }, "View")
      : el("a", { class: "button", href: `/proctor-center/session/${encodeURIComponent(s.attemptId)}`,
        "aria-label": `View session of ${s.candidateName}`, "data-action": "view" }, "View"),
    actionButton("flag", "Flag", s),
    actionButton("warn", "Warn", s),
    actionButton("terminate", "Terminate", s, { class: "danger" })));
  updateCard(card, s);
  return card;
}

function updateCard(card, s) {
  const q = (sel) => card.querySelector(sel);
  q('[data-field="name"]').textContent = s.candidateName || "Unknown candidate";
  q('[data-field="exam"]').textContent = s.examTitle || "";
  q('[data-testid="snapshot-count"]').textContent = String(s.snapshotCount ?? 0);
  const last = q('[data-field="last-snapshot"]');
  last.textContent = s.lastSnapshotAt ? fmtTime(s.lastSnapshotAt) : "never";
  last.dataset.at = s.lastSnapshotAt || "";
  if (s.lastSnapshotAt) last.setAttribute("datetime", s.lastSnapshotAt);
  last.title = s.lastSnapshotAt ? timeAgo(s.lastSnapshotAt) : "";
  const risk = q('[data-testid="risk-score"]');
  risk.textContent = String(s.riskScore ?? 0);
  risk.className = "risk risk-" + riskLevel(s.riskScore ?? 0);
  risk.setAttribute("aria-label", `Risk score ${s.riskScore ?? 0} of 100`);
  const top = (s.riskReasons || [])[0];
  q('[data-field="top-reason"]').textContent = top ? `${reasonLabel(top.type)} ×${top.count}` : "no concerns";
  q('[data-testid="connectivity"]').textContent = networkText(s.connectivityIssues || 0);
  const started = q('[data-field="started"]');
  started.textContent = fmtTime(s.startedAt);
  started.setAttribute("datetime", s.startedAt || "");
  q('[data-field="ended"]').textContent = s.endedAt ? ` · ended ${fmtTime(s.endedAt)}` : "";
  const live = q('[data-testid="live-status"]');
  live.textContent = s.liveStatus || "Offline";
  live.className = "badge " + ({ Live: "live", Reconnecting: "warn" }[s.liveStatus] || "muted");
  const active = s.status === "Active";
  for (const button of card.querySelectorAll("button[data-action]")) {
    const kind = button.dataset.action;
    const allowed = !s.isSample && canAct && (kind === "flag" || active);
    button.disabled = !allowed;
    button.title = s.isSample ? "Sample session: actions are disabled"
      : !canAct ? "Only proctors and admins can do this" : allowed ? "" : "The session has ended";
  }
  card.classList.toggle("is-sample", !!s.isSample);
  setMedia(card, s);
}

// ---- state ---------------------------------------------------------------------------------------

function matches(s) {
  const text = textFilter.value.trim().toLowerCase();
  return !text || `${s.candidateName} ${s.examTitle}`.toLowerCase().includes(text);
}

function compare(a, b) {
  const by = sortSelect.value;
  if (a.isSample !== b.isSample) return a.isSample ? 1 : -1;
  if (by === "name") return (a.candidateName || "").localeCompare(b.candidateName || "");
  if (by === "started") return (b.startedAt || "").localeCompare(a.startedAt || "");
  return (b.riskScore - a.riskScore) || (a.candidateName || "").localeCompare(b.candidateName || "");
}

function render() {
  const wanted = [...sessions.values()].filter(matches).sort(compare);
  const focused = document.activeElement;
  for (const [id, card] of cards) {
    if (!sessions.has(id)) { card.remove(); cards.delete(id); }
  }
  let cursor = null;
  for (const s of wanted) {
    let card = cards.get(s.attemptId);
    if (!card) { card = buildCard(s); cards.set(s.attemptId, card); }
    const expected = cursor ? cursor.nextElementSibling : grid.firstElementChild;
    if (expected !== card) grid.insertBefore(card, expected);
    card.hidden = false;
    cursor = card;
  }
  for (const [id, card] of cards) {
    if (!wanted.some((s) => s.attemptId === id)) card.hidden = true;
  }
  if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
  const real = realCount();
  const samples = sessions.size - real;
  empty.hidden = wanted.length > 0;
  empty.textContent = sessions.size ? "No sessions match the filter."
    : status() === "Active" ? "No exam is running right now." : `No ${status().toLowerCase()} sessions.`;
  summary.textContent = samples && !real ? "No exam is running: these sample cards show what you will see."
    : `${real} ${status().toLowerCase()} session${real === 1 ? "" : "s"}`
      + (wanted.length !== sessions.size ? ` (${wanted.length} shown)` : "");
  grid.setAttribute("aria-busy", "false");
}

function newer(s) {
  const seen = latest.get(s.attemptId);
  return s.isSample || seen === undefined || (s.position ?? 0) >= (seen.position ?? 0);
}

// Applies one session change; returns true when something visible changed.
function apply(s, { quiet = false } = {}) {
  if (!newer(s)) return false;
  if (!s.isSample) latest.set(s.attemptId, s);
  const had = sessions.get(s.attemptId);
  if (s.status === status()) {
    if (!s.isSample) {
      for (const [id, other] of sessions) if (other.isSample) sessions.delete(id); // real ones replace samples
    }
    sessions.set(s.attemptId, s);
    const card = cards.get(s.attemptId);
    if (card) updateCard(card, s);
    if (!had && !quiet && !s.isSample) announce(`${s.candidateName} is now ${s.status}: ${s.examTitle}`);
    if (had && !quiet && s.warningCount > (had.warningCount || 0)) announce(`${s.candidateName} was warned`);
    return true;
  }
  if (had) {
    sessions.delete(s.attemptId);
    if (!quiet) announce(`${s.candidateName}'s session is now ${s.status}`);
    return true;
  }
  return false;
}

async function load() {
  const wanted = status();
  grid.setAttribute("aria-busy", "true");
  const query = new URLSearchParams({ status: wanted });
  if (wanted === "Active") query.set("includeSamples", "true");
  const run = (async () => {
    const list = await api(`/api/Proctor/sessions?${query}`);
    if (wanted !== status()) return; // the filter changed meanwhile; that load wins
    sessions.clear();
    for (const row of list) {
      // the stream may already have told us something newer about this one
      const s = newer(row) ? row : latest.get(row.attemptId);
      if (!s.isSample) latest.set(s.attemptId, s);
      if (s.status !== wanted) continue;
      sessions.set(s.attemptId, s);
      if (cards.has(s.attemptId)) updateCard(cards.get(s.attemptId), s);
    }
    render();
  })();
  loading = run.catch((err) => {
    toast(`Could not load sessions: ${err.message}`, "error");
    grid.setAttribute("aria-busy", "false");
  });
  return loading;
}

let refillTimer = null;
function refillSamplesSoon() {
  // Samples are shown only while no real exam is active: when the last one ends, ask the server again.
  if (status() !== "Active" || realCount() > 0 || refillTimer) return;
  refillTimer = setTimeout(() => { refillTimer = null; if (realCount() === 0) load(); }, 300);
}

// ---- stream --------------------------------------------------------------------------------------

function connect() {
  showStream(streamState, retry ? "reconnecting" : "connecting");
  source = new EventSource("/api/Proctor/sessions/stream?includeSamples=true");
  source.addEventListener("open", () => { retry = 0; showStream(streamState, "connected"); });
  source.addEventListener("snapshot", async (e) => {
    const data = JSON.parse(e.data);
    await loading;
    showStream(streamState, "connected");
    if (status() !== "Active") return;
    const ids = new Set(data.sessions.map((s) => s.attemptId));
    for (const [id, s] of sessions) {
      // not active at the snapshot's position: it ended (or was a sample that real sessions replaced)
      if (!ids.has(id) && (s.isSample || (s.position ?? 0) <= data.position)) sessions.delete(id);
    }
    for (const s of data.sessions) apply(s, { quiet: true });
    render();
    refillSamplesSoon();
  });
  source.addEventListener("session", async (e) => {
    const s = JSON.parse(e.data);
    await loading;
    showStream(streamState, "connected");
    if (apply(s)) render();
    refillSamplesSoon();
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // The server refused (e.g. restarted, or signed out): open a fresh stream after a backoff
      // and reload, since a fresh stream sends a new snapshot instead of the missed changes.
      source.close();
      retry += 1;
      showStream(streamState, "reconnecting");
      const delay = Math.min(30000, 1000 * 2 ** Math.min(retry, 5)) * (0.5 + Math.random() / 2);
      setTimeout(async () => {
        try { await api("/api/auth/me"); } catch { /* api() redirects to login on 401 */ }
        await load();
        connect();
      }, delay);
    } else {
      retry += 1;
      showStream(streamState, "reconnecting"); // the browser resumes by itself with Last-Event-ID
    }
  });
}

// ---- controls ------------------------------------------------------------------------------------

function syncUrl() {
  const p = new URLSearchParams();
  if (status() !== "Active") p.set("status", status());
  if (textFilter.value.trim()) p.set("q", textFilter.value.trim());
  if (sortSelect.value !== "risk") p.set("sort", sortSelect.value);
  history.replaceState(null, "", location.pathname + (p.size ? "?" + p : ""));
}

statusSelect.addEventListener("change", () => { syncUrl(); sessions.clear(); render(); load(); });
textFilter.addEventListener("input", () => { syncUrl(); render(); });
sortSelect.addEventListener("change", () => { syncUrl(); render(); });
document.getElementById("controls").addEventListener("submit", (e) => e.preventDefault());

// Relative "last snapshot" hints stay fresh without touching the network.
setInterval(() => {
  for (const t of grid.querySelectorAll('time[data-field="last-snapshot"]')) {
    if (t.dataset.at) t.title = timeAgo(t.dataset.at);
  }
}, 10000);

(async () => {
  try {
    const me = await api("/api/auth/me");
    canAct = ["proctor", "admin"].includes(me.role);
  } catch { /* keep defaults; the server still authorizes every action */ }
  await load();
  connect();
})();
window.addEventListener("pagehide", () => source?.close());
