// The Attempt Video Page: the finished MP4 (served with Range through an authorized route), the
// timeline of events and gaps where choosing an item seeks the video to that moment through the
// segment map, the screenshots (each seeks too), the retention note, and the status live over
// SSE (Recording → Processing → Ready / Failed / Deleted; the player appears when Ready).
import { api } from "/static/lib/http.js";
import { $, announce, boot, el, toast } from "/static/lib/dom.js";
import { fmtDateTime, fmtTime, plural } from "/static/lib/format.js";
import { openStream, streamBadge } from "/static/lib/sse.js";
import { fmtBytes, seekTimeFor, toRecording, videoClock, videoTimeAt } from "/static/pages/recording/model.js";

const attemptId = boot().attempt_id;
const id = encodeURIComponent(attemptId);
const player = $("player");

let recording = toRecording({});
let timeline = [];
let snapshots = [];

const NOTES = {
  None: "There is no recording for this attempt (recording was off, or no video reached the server).",
  Recording: "The attempt is still being recorded. The video appears here once it has been processed.",
  Processing: "The recording is being processed. The video appears here when it is ready.",
  Ready: "",
  Failed: "Processing the recording failed; it is retried automatically.",
  Deleted: "This recording was deleted under the retention policy.",
};

// ---- rendering -----------------------------------------------------------------------------------

function renderStatus() {
  const r = recording;
  const badge = $("recording-status");
  badge.textContent = r.status;
  badge.className = `badge status-${r.status}`;
  let note = NOTES[r.status] ?? `Status: ${r.status}.`;
  if (r.status === "Failed" && r.failureReason) note += ` Reason: ${r.failureReason.split("\n").filter(Boolean).pop()}`;
  $("player-note").textContent = note;
  $("player-note").hidden = !note;
  const ready = r.status === "Ready" && !!r.videoUrl;
  if (ready && player.getAttribute("src") !== r.videoUrl) player.src = r.videoUrl;
  if (!ready && player.hasAttribute("src")) {
    player.removeAttribute("src");
    player.load();
  }
  player.hidden = !ready;
  $("duration").textContent = r.durationSeconds !== null ? videoClock(r.durationSeconds) : "—";
  $("size").textContent = fmtBytes(r.sizeBytes);
  const lost = r.gaps.reduce((sum, g) => sum + (g.end - g.start) / 1000, 0);
  $("gaps").textContent = r.gaps.length ? `${plural(r.gaps.length, "gap")}, ${lost.toFixed(1)} s without video` : (ready ? "none" : "—");
  const retention = $("retention-note");
  const keeps = r.retentionDays !== null && r.status !== "Deleted" && r.status !== "None";
  retention.hidden = !keeps;
  retention.textContent = keeps ? `This recording will be deleted after ${r.retentionDays} days` : "";
  $("delete-after").textContent = keeps && r.deleteAfter ? `(on ${fmtDateTime(r.deleteAfter)})` : "";
  renderTimeline(); // video times and whether items can seek depend on the recording
}

function seekTo(seconds, label) {
  if (seconds === null || player.hidden) return;
  player.currentTime = seconds;
  player.play().catch(() => {}); // a click is a user gesture; a refusal leaves it paused
  announce(`Video at ${videoClock(seconds)}${label ? `: ${label}` : ""}`);
}

function timelineItem(item, playable) {
  const at = playable ? seekTimeFor(recording, item) : null;
  const label = `${item.label}${item.detail ? `. ${item.detail}` : ""}`;
  const button = el("button", {
    type: "button", disabled: at === null,
    "aria-label": at === null ? `${fmtTime(item.at)} ${label}` : `Play from ${videoClock(at)}: ${label}`,
    onclick: () => seekTo(at, item.label),
  },
  el("time", { datetime: item.at, title: fmtDateTime(item.at) }, fmtTime(item.at)),
  el("strong", {}, item.label),
  item.detail ? el("span", { class: "detail" }, item.detail) : null,
  at !== null ? el("span", { class: "vt", "aria-hidden": "true" }, `▶ ${videoClock(at)}`) : null);
  return el("li", { "data-testid": "timeline-item", class: `cat-${item.category}`, "data-kind": item.kind,
    "data-category": item.category, "data-at": item.at, "data-video-time": at ?? "" }, button);
}

function renderTimeline() {
  const playable = recording.status === "Ready" && recording.segments.length > 0;
  $("timeline").replaceChildren(...timeline.map((item) => timelineItem(item, playable)));
  $("timeline-empty").hidden = timeline.length > 0;
  renderShots();
}

function renderShots() {
  const playable = recording.status === "Ready" && recording.segments.length > 0;
  const shots = snapshots.map((shot) => {
    const at = playable ? videoTimeAt(recording, shot.takenAt) : null;
    const img = el("img", { src: shot.url, alt: `Screenshot taken ${fmtDateTime(shot.takenAt)}`, loading: "lazy",
      "data-testid": "screenshot", "data-snapshot-id": shot.snapshotId });
    img.addEventListener("error", () => { img.removeAttribute("src"); img.alt = "Screenshot unavailable"; }, { once: true });
    return el("button", { type: "button", class: "shot", disabled: at === null,
      "aria-label": at === null ? `Screenshot taken ${fmtDateTime(shot.takenAt)}`
        : `Play from ${videoClock(at)}, when the screenshot of ${fmtTime(shot.takenAt)} was taken`,
      onclick: () => seekTo(at, `screenshot of ${fmtTime(shot.takenAt)}`) }, img, el("span", {}, fmtTime(shot.takenAt)));
  });
  $("shots").replaceChildren(...shots);
  $("shots-empty").hidden = snapshots.length > 0;
  $("shots-count").textContent = snapshots.length ? `(${snapshots.length}, latest first)` : "";
}

// Highlights the timeline item the video is showing now.
player.addEventListener("timeupdate", () => {
  let current = null;
  for (const li of $("timeline").children) {
    const t = li.dataset.videoTime;
    if (t !== "" && Number(t) <= player.currentTime + 0.05) current = li;
    li.classList.remove("current");
  }
  current?.classList.add("current");
});

// ---- loading -------------------------------------------------------------------------------------

async function loadRecording() {
  try {
    const before = recording.status;
    recording = toRecording(await api(`/api/Proctor/recording/${id}`));
    if (before !== recording.status) {
      if (before !== "None" || recording.status !== "None") announce(`Recording: ${recording.status}`);
      await loadTimeline(); // gap and ready/failed/deleted items come with the new status
    }
  } catch (err) {
    if (err.status === 404) recording = toRecording({ status: "None" });
    else toast(`Could not load the recording: ${err.message}`, "error");
  }
  renderStatus();
}

async function loadTimeline() {
  try {
    timeline = await api(`/api/Proctor/timeline/${id}`);
  } catch (err) {
    toast(`Could not load the timeline: ${err.message}`, "error");
  }
}

async function loadSession() {
  try {
    const detail = await api(`/api/Proctor/sessions/${id}`);
    const s = detail.session;
    document.title = `Recording · ${s.candidateName} · Smart Exam`;
    $("title").textContent = `Recording: ${s.candidateName || "Unknown candidate"}`;
    $("who").textContent = `${s.examTitle || ""} · started ${fmtDateTime(s.startedAt)}${s.endedAt ? ` · ended ${fmtDateTime(s.endedAt)}` : ""}`;
    snapshots = detail.snapshots || [];
  } catch (err) {
    $("who").textContent = err.status === 404 ? "This attempt has no proctoring session." : `Could not load the session: ${err.message}`;
  }
}

// Status changes arrive over SSE; each one re-reads the recording (one mapping, one source).
let inFlight = null;
let again = false;
async function refresh() {
  if (inFlight) { again = true; return; }
  inFlight = loadRecording();
  await inFlight;
  inFlight = null;
  if (again) { again = false; await refresh(); }
}

let stream = null;
(async () => {
  await Promise.all([loadSession(), loadTimeline()]);
  await loadRecording();
  renderStatus();
  const onChange = () => refresh();
  stream = openStream(`/api/Proctor/recording/${id}/stream`, {
    onState: streamBadge($("stream-state")),
    beforeReopen: refresh,
    events: { recording: onChange, status: onChange, message: onChange },
  });
})();
window.addEventListener("pagehide", () => stream?.close());
