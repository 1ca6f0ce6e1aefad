// Proctor Center: a live grid of proctoring sessions.
// Loads with GET /api/Proctor/sessions, then follows /api/Proctor/sessions/stream (SSE, no polling).
// Every change carries a read-model position; a change older than what a card already shows is ignored,
// so a GET racing the stream can never roll a card back.
import { api } from "/static/lib/http.js";
import { announce, toast } from "/static/lib/dom.js";
import { timeAgo } from "/static/lib/format.js";
import { openStream, streamBadge } from "/static/lib/sse.js";
import { ACTING_ROLES } from "/static/lib/proctor-ui.js";
import { buildCard, updateCard } from "/static/pages/proctor-center/session-card.js";

const grid = document.getElementById("sessions");
const empty = document.getElementById("empty");
const summary = document.getElementById("summary");
const showStream = streamBadge(document.getElementById("stream-state"));
const statusSelect = document.getElementById("status-filter");
const textFilter = document.getElementById("text-filter");
const sortSelect = document.getElementById("sort");

const sessions = new Map(); // attemptId -> Session (only those with the current status)
const latest = new Map(); // attemptId -> newest Session seen, any status (never samples)
const cards = new Map(); // attemptId -> card element
let canAct = true; // proctor/admin; a supervisor only watches
let loading = null; // Promise of the current GET; stream events wait for it
let stream = null;

const params = new URLSearchParams(location.search);
if (["Active", "Completed", "Cancelled"].includes(params.get("status"))) statusSelect.value = params.get("status");
if (params.get("q")) textFilter.value = params.get("q");
if (["risk", "name", "started"].includes(params.get("sort"))) sortSelect.value = params.get("sort");

const status = () => statusSelect.value;
const realCount = () => [...sessions.values()].filter((s) => !s.isSample).length;


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
    if (!card) { card = buildCard(s, { lookup: (id) => sessions.get(id), canAct }); cards.set(s.attemptId, card); }
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
    if (card) updateCard(card, s, canAct);
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
      if (cards.has(s.attemptId)) updateCard(cards.get(s.attemptId), s, canAct);
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

async function onSnapshot(data) {
  await loading;
  if (status() !== "Active") return;
  const ids = new Set(data.sessions.map((s) => s.attemptId));
  for (const [id, s] of sessions) {
    // not active at the snapshot's position: it ended (or was a sample that real sessions replaced)
    if (!ids.has(id) && (s.isSample || (s.position ?? 0) <= data.position)) sessions.delete(id);
  }
  for (const s of data.sessions) apply(s, { quiet: true });
  render();
  refillSamplesSoon();
}

async function onSession(s) {
  await loading;
  if (apply(s)) render();
  refillSamplesSoon();
}

// A fresh stream (after the server ended the old one: restarted, or signed out) sends a new
// snapshot instead of the missed changes: check the login, then reload the list.
async function beforeReopen() {
  try { await api("/api/auth/me"); } catch { /* api() redirects to login on 401 */ }
  await load();
}

function connect() {
  stream = openStream("/api/Proctor/sessions/stream?includeSamples=true", {
    onState: showStream, beforeReopen, events: { snapshot: onSnapshot, session: onSession },
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
    canAct = ACTING_ROLES.includes(me.role);
  } catch { /* keep defaults; the server still authorizes every action */ }
  await load();
  connect();
})();
window.addEventListener("pagehide", () => stream?.close());
