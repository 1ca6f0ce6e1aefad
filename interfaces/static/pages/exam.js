// Candidate exam page: questions (saved on change, exam/questions.js), countdown with
// auto-submit (exam/countdown.js), submit and result, the ended state (expiry / force-end from
// the SSE stream or a 409), proctor warnings (exam/warning-overlay.js), and proctoring when the
// exam is proctored (exam/proctoring-panel.js), the server recording when it is on
// (exam/recording-panel.js, loaded only then) and live video to proctors when it is on
// (lib/live/publisher.js, loaded only then: off means no RTCPeerConnection, no socket).
import { api, ApiError } from "/static/lib/http.js";
import { $, announce, boot, el, setBusy, toast } from "/static/lib/dom.js";
import { openStream } from "/static/lib/sse.js";
import { startCountdown } from "/static/pages/exam/countdown.js";
import { mountQuestions } from "/static/pages/exam/questions.js";
import { startProctoring } from "/static/pages/exam/proctoring-panel.js";
import { drainLeftoversPanel, startRecordingPanel } from "/static/pages/exam/recording-panel.js";
import { showWarning } from "/static/pages/exam/warning-overlay.js";

const { attempt_id: attemptId } = boot();

let attempt = null;
let questions = null;
let ended = false;
let proctor = null;
let recording = null; // the server recording, once started
let stopCountdown = null;
let feed = null;
let warningBaseline = null; // warningCount in the first stream message after page load
let submitting = false;
const isEnded = () => ended;

// -- submit --------------------------------------------------------------------------------
function askToSubmit() {
  const { done, total } = questions.updateAnswered();
  $("confirm-text").textContent = done < total
    ? `You answered ${done} of ${total} questions. Submit anyway? You cannot change answers afterwards.`
    : "Submit your answers? You cannot change them afterwards.";
  $("confirm").hidden = false;
  $("submit").hidden = true;
  $("confirm-submit").focus();
}

function cancelSubmit() {
  $("confirm").hidden = true;
  $("submit").hidden = false;
  $("submit").focus();
}

async function submit(auto = false) {
  if (ended || submitting) return;
  submitting = true;
  const restore = setBusy($("confirm-submit"), "Submitting…");
  // The recorder stops now (its last chunk is queued, marked final); the submit never waits for
  // uploads, which go on after the result shows.
  recording?.pause();
  try {
    const result = await api(`/api/attempts/${attemptId}/submit`, { method: "POST" });
    Object.assign(attempt, { status: result.status, score: result.score, maxScore: result.maxScore, passed: result.passed });
    finish();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      await refresh();
      if (!ended) recording?.resume();
    } else {
      recording?.resume();
      toast(`${auto ? "Automatic submit" : "Submit"} failed: ${err instanceof ApiError ? err.message : "network error"}. Try again.`, "error", 10000);
      $("confirm").hidden = true;
      $("submit").hidden = false;
    }
  } finally {
    submitting = false;
    restore();
  }
}

// -- ended state ---------------------------------------------------------------------------
const REASONS = {
  Expired: "Time ran out.",
  Cancelled: "A proctor ended this exam.",
};

function finish() {
  if (ended) return;
  ended = true;
  stopCountdown?.();
  stopCountdown = null;
  if (proctor) proctor.stop();
  feed?.close();
  feed = null;
  $("answers-fieldset").disabled = true;
  $("submit-area").hidden = true;
  $("upload-warning").hidden = true;
  $("camera-denied").hidden = true;
  $("timer").textContent = "Ended";
  $("timer").classList.remove("low");
  const outcome = $("outcome");
  const submitted = attempt.status === "Submitted";
  $("outcome-title").textContent = submitted ? "Exam submitted" : "This exam has ended";
  let reason = submitted ? "Your answers were submitted." : REASONS[attempt.status] || `Status: ${attempt.status}.`;
  if (attempt.status === "Cancelled" && attempt.endReason) reason = `A proctor ended this exam. Reason: ${attempt.endReason}`;
  else if (!submitted && attempt.endReason) reason = `${reason} (${attempt.endReason})`;
  $("outcome-reason").textContent = reason;
  const score = $("outcome-score");
  if (attempt.score !== null && attempt.score !== undefined) {
    const verdict = attempt.passed === true ? " (passed)" : attempt.passed === false ? " (not passed)" : "";
    score.textContent = `Your score: ${attempt.score} / ${attempt.maxScore}${verdict}`;
    score.hidden = false;
  }
  outcome.hidden = false;
  outcome.focus();
  announce(`${$("outcome-title").textContent}. ${score.hidden ? "" : score.textContent}`);
}

async function refresh() {
  try {
    const fresh = await api(`/api/attempts/${attemptId}`);
    attempt = { ...attempt, ...fresh, answers: { ...attempt?.answers, ...fresh.answers } };
    if (attempt.status !== "Active") finish();
  } catch (err) {
    console.warn("could not reload the attempt", err);
  }
}

// -- live attempt stream (SSE): warnings and the end of the attempt --------------------------
function onAttemptMessage(data) {
  const count = Number(data.warningCount) || 0;
  if (warningBaseline === null) warningBaseline = count;
  else if (count > warningBaseline) {
    warningBaseline = count;
    showWarning(data.lastWarning || "Your proctor sent you a warning.");
  }
  if (data.status && data.status !== "Active" && !ended) {
    attempt.status = data.status;
    attempt.endReason = data.endReason ?? attempt.endReason;
    refresh().then(() => finish());
  }
}

function openFeed() {
  if (ended || feed) return;
  // A fresh stream after the server ended the old one: check the attempt first (it may be over).
  feed = openStream(`/api/attempts/${attemptId}/stream`, {
    events: { attempt: onAttemptMessage },
    beforeReopen: refresh,
  });
}

// -- live video to proctors: the module is loaded only when the server streams live ----------
async function startLive() {
  try {
    const { startPublisher } = await import("/static/lib/live/publisher.js");
    if (ended || proctor.stopped) return;
    const publisher = startPublisher({ client: proctor }); // proctor.stop() says bye
    // The candidate is told that the camera can be watched, and when it is.
    const may = "Proctors may watch your camera live (video only, no sound).";
    const note = el("p", { class: "muted small", "data-testid": "live-watch-note" }, may);
    $("proctor-panel").append(note);
    publisher.addEventListener("status", ({ detail }) => {
      note.textContent = detail.watched ? "A proctor is watching your camera live (video only, no sound)." : may;
    });
  } catch (err) {
    console.warn("live video could not start", err);
  }
}

// -- boot ----------------------------------------------------------------------------------
async function main() {
  try {
    attempt = await api(`/api/attempts/${attemptId}`);
  } catch (err) {
    $("exam-loading").textContent = `Could not load this exam: ${err instanceof ApiError ? err.message : "network error"}.`;
    return;
  }
  document.title = `${attempt.examTitle} · Smart Exam`;
  $("exam-title").textContent = attempt.examTitle;
  $("exam-loading").hidden = true;
  $("answers").hidden = false;
  questions = mountQuestions(attemptId, () => attempt, { isEnded, onEnded: refresh });
  $("submit").addEventListener("click", askToSubmit);
  $("confirm-submit").addEventListener("click", () => submit(false));
  $("confirm-cancel").addEventListener("click", cancelSubmit);
  $("answers").addEventListener("submit", (event) => event.preventDefault());
  const recorded = attempt.proctoring?.enabled && attempt.proctoring.recording;
  if (attempt.status !== "Active") {
    finish();
    if (recorded) drainLeftoversPanel({ attemptId }).catch((err) => console.warn("video outbox", err));
    return;
  }
  stopCountdown = startCountdown(attempt.remainingSeconds, () => submit(true));
  openFeed();
  if (attempt.proctoring?.enabled) {
    proctor = startProctoring({
      attemptId,
      snapshotIntervalSeconds: attempt.proctoring.snapshotIntervalSeconds,
      isEnded,
      onEnded: refresh,
    });
    if (attempt.proctoring.liveVideo) startLive();
    if (recorded) {
      startRecordingPanel({ proctor, chunkSeconds: attempt.proctoring.chunkSeconds, isEnded })
        .then((started) => { recording = started; })
        .catch((err) => console.warn("the video recording could not start", err));
    }
  }
}

main();
