// Candidate exam page: questions (saved on change), countdown with auto-submit, submit and
// result, the ended state (expiry / force-end from the SSE stream or a 409), proctor warnings,
// and proctoring (camera + snapshots, see proctoring-client.js) when the exam is proctored.
import { api, boot, toast, el, ApiError } from "/static/api.js";
import { ProctoringClient } from "/static/proctoring-client.js";

const { attempt_id: attemptId } = boot();
const $ = (id) => document.getElementById(id);

let attempt = null;
let ended = false;
let proctor = null;
let timer = null;
let feed = null;
let feedRetry = 0;
let feedTimer = null;
let warningBaseline = null; // warningCount in the first stream message after page load
let submitting = false;
const saveVersion = {}; // question id -> latest change number (late replies never win)

function announce(text) {
  const box = $("announce");
  box.textContent = "";
  setTimeout(() => (box.textContent = text), 50);
}

// -- rendering -----------------------------------------------------------------------------
function renderQuestions() {
  const box = $("questions");
  box.replaceChildren(...attempt.questions.map((q, i) => {
    const legendId = `q-${q.id}-legend`;
    const status = el("span", { class: "save-status", id: `q-${q.id}-status`, "data-testid": "save-status", "aria-live": "polite" });
    const choices = q.choices.map((text, index) => {
      const input = el("input", { type: "radio", name: `q-${q.id}`, value: String(index) });
      input.checked = attempt.answers[q.id] === index;
      input.addEventListener("change", () => saveAnswer(q.id, index));
      return el("label", { class: "choice" }, input, el("span", {}, text));
    });
    return el("fieldset", { class: "card question", "data-testid": "question", "data-question-id": q.id },
      el("legend", { id: legendId }, el("span", { class: "qnum" }, `Question ${i + 1} of ${attempt.questions.length}`), el("span", { class: "qtext" }, q.text)),
      ...choices,
      status,
    );
  }));
  updateAnswered();
}

function updateAnswered() {
  const total = attempt.questions.length;
  const done = attempt.questions.filter((q) => attempt.answers[q.id] !== undefined).length;
  $("answered").textContent = `${done} of ${total} answered`;
  return { done, total };
}

function setSaveStatus(qid, text, kind) {
  const node = $(`q-${qid}-status`);
  if (!node) return;
  node.textContent = text;
  node.className = `save-status ${kind || ""}`;
}

// -- answers -------------------------------------------------------------------------------
async function saveAnswer(qid, choice) {
  if (ended) return;
  const version = (saveVersion[qid] || 0) + 1;
  saveVersion[qid] = version;
  setSaveStatus(qid, "Saving…", "pending");
  try {
    await api(`/api/attempts/${attemptId}/answers/${encodeURIComponent(qid)}`, { method: "PUT", json: { choice } });
    if (saveVersion[qid] !== version) return;
    attempt.answers[qid] = choice;
    setSaveStatus(qid, "Saved ✓", "ok");
    updateAnswered();
  } catch (err) {
    if (saveVersion[qid] !== version) return;
    if (err instanceof ApiError && err.status === 409) {
      setSaveStatus(qid, "Not saved: the exam has ended", "bad");
      await refresh();
      return;
    }
    const why = err instanceof ApiError ? err.message : "network error";
    setSaveStatus(qid, "Not saved. Choose the answer again to retry.", "bad");
    toast(`Your answer was not saved (${why}). Choose it again to retry.`, "error", 8000);
  }
}

// -- submit --------------------------------------------------------------------------------
function askToSubmit() {
  const { done, total } = updateAnswered();
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
  $("confirm-submit").disabled = true;
  $("confirm-submit").textContent = "Submitting…";
  try {
    const result = await api(`/api/attempts/${attemptId}/submit`, { method: "POST" });
    Object.assign(attempt, { status: result.status, score: result.score, maxScore: result.maxScore, passed: result.passed });
    finish();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      await refresh();
    } else {
      toast(`${auto ? "Automatic submit" : "Submit"} failed: ${err instanceof ApiError ? err.message : "network error"}. Try again.`, "error", 10000);
      $("confirm").hidden = true;
      $("submit").hidden = false;
    }
  } finally {
    submitting = false;
    $("confirm-submit").disabled = false;
    $("confirm-submit").textContent = "Yes, submit now";
  }
}

// -- countdown -----------------------------------------------------------------------------
function fmtLeft(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0");
  return `${h ? h + ":" : ""}${mm}:${String(s).padStart(2, "0")}`;
}

function startCountdown(remainingSeconds) {
  const endAt = performance.now() + remainingSeconds * 1000;
  const spoken = new Set();
  const tick = () => {
    const left = Math.max(0, Math.ceil((endAt - performance.now()) / 1000));
    const node = $("timer");
    node.textContent = fmtLeft(left);
    node.classList.toggle("low", left <= 60);
    for (const mark of [300, 60]) {
      if (left <= mark && left > mark - 5 && !spoken.has(mark)) {
        spoken.add(mark);
        announce(`${mark / 60} minute${mark === 60 ? "" : "s"} left`);
      }
    }
    if (left === 0) {
      clearInterval(timer);
      timer = null;
      announce("Time is up. Submitting your answers.");
      submit(true);
    }
  };
  tick();
  timer = setInterval(tick, 500);
}

// -- ended state ---------------------------------------------------------------------------
const REASONS = {
  Expired: "Time ran out.",
  Cancelled: "A proctor ended this exam.",
};

function finish() {
  if (ended) return;
  ended = true;
  if (timer) clearInterval(timer);
  timer = null;
  if (proctor) proctor.stop();
  closeFeed();
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

// -- warnings from the proctor -------------------------------------------------------------
function showWarning(message) {
  const existing = document.querySelector("[data-testid=warn-overlay]");
  if (existing) {
    existing.querySelector("#warn-message").textContent = message;
    existing.querySelector("button").focus();
    return;
  }
  const before = document.activeElement;
  const background = [document.querySelector("header.top"), $("main")].filter(Boolean);
  const ok = el("button", { type: "button", class: "primary" }, "I understand");
  const overlay = el("div", {
    class: "overlay", "data-testid": "warn-overlay", role: "alertdialog", "aria-modal": "true",
    "aria-labelledby": "warn-title", "aria-describedby": "warn-message",
  }, el("div", { class: "card warn-card" },
    el("h2", { id: "warn-title" }, "Warning from your proctor"),
    el("p", { id: "warn-message" }, message),
    ok,
  ));
  const close = () => {
    overlay.remove();
    background.forEach((node) => node.removeAttribute("inert"));
    if (before && document.contains(before)) before.focus();
  };
  ok.addEventListener("click", close);
  overlay.addEventListener("keydown", (event) => {
    if (event.key === "Tab") {
      event.preventDefault(); // the button is the only stop inside the dialog
      ok.focus();
    }
  });
  background.forEach((node) => node.setAttribute("inert", ""));
  document.body.append(overlay);
  ok.focus();
}

// -- live attempt stream (SSE) -------------------------------------------------------------
function onAttemptMessage(event) {
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    return;
  }
  feedRetry = 0;
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
  feed = new EventSource(`/api/attempts/${attemptId}/stream`);
  feed.addEventListener("attempt", onAttemptMessage);
  feed.addEventListener("error", () => {
    if (!feed || feed.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
    // The server refused (or is gone): back off, check the attempt, reopen.
    closeFeed();
    feedRetry += 1;
    const delay = Math.min(30000, 1000 * 2 ** Math.min(feedRetry, 5));
    feedTimer = setTimeout(async () => {
      feedTimer = null;
      await refresh();
      openFeed();
    }, delay);
  });
}

function closeFeed() {
  if (feed) feed.close();
  feed = null;
  if (feedTimer) clearTimeout(feedTimer);
  feedTimer = null;
}

// -- proctoring ----------------------------------------------------------------------------
function startProctoring() {
  $("proctor-panel").hidden = false;
  proctor = new ProctoringClient({
    attemptId,
    snapshotIntervalSeconds: attempt.proctoring.snapshotIntervalSeconds,
    video: $("self-view"),
  });
  window.smartExamProctoring = proctor; // for later modules (recorder, live) and debugging
  const status = $("camera-status");
  proctor.addEventListener("camera", ({ detail }) => {
    if (detail.state === "starting") status.textContent = "Starting camera… (allow camera access if asked)";
    if (detail.state === "on") {
      status.textContent = "Camera on";
      status.className = "camera-status ok";
      if (!$("camera-denied").hidden) {
        $("camera-denied").hidden = true;
        toast("Camera is working again.");
      }
    }
    if (detail.state === "blocked") {
      status.textContent = "Camera off";
      status.className = "camera-status bad";
      $("camera-denied-text").textContent = detail.message;
      $("camera-denied").hidden = ended;
    }
    if (detail.state === "stopped") {
      status.textContent = "Camera stopped";
      status.className = "camera-status";
    }
  });
  proctor.addEventListener("snapshot", ({ detail }) => {
    $("snapshots-sent").textContent = String(detail.count);
    $("last-snapshot").textContent = `Last snapshot sent at ${new Date(detail.takenAt || Date.now()).toLocaleTimeString()}`;
  });
  proctor.addEventListener("upload-failed", ({ detail }) => {
    const why = detail.status ? `The server answered ${detail.status}${detail.detail ? `: ${detail.detail}` : ""}.` : "No connection to the server.";
    $("upload-warning-text").textContent = why;
    if (!ended) $("upload-warning").hidden = false;
    toast("A camera snapshot could not be uploaded.", "error", 8000);
  });
  proctor.addEventListener("upload-recovered", () => {
    $("upload-warning").hidden = true;
    toast("Snapshots are uploading again.");
  });
  proctor.addEventListener("ended", () => refresh());
  $("camera-retry").addEventListener("click", async () => {
    const button = $("camera-retry");
    button.disabled = true;
    button.textContent = "Trying…";
    const ok = await proctor.retryCamera();
    button.disabled = false;
    button.textContent = "Retry camera";
    if (!ok && !ended) {
      toast("The camera is still not available.", "error");
      button.focus();
    }
  });
  proctor.watchPage();
  proctor.start();
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
  renderQuestions();
  $("submit").addEventListener("click", askToSubmit);
  $("confirm-submit").addEventListener("click", () => submit(false));
  $("confirm-cancel").addEventListener("click", cancelSubmit);
  $("answers").addEventListener("submit", (event) => event.preventDefault());
  if (attempt.status !== "Active") {
    finish();
    return;
  }
  startCountdown(attempt.remainingSeconds);
  openFeed();
  if (attempt.proctoring?.enabled) startProctoring();
}

main();
