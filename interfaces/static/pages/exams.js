// Exams page: the list of exams; a candidate starts (or resumes) an attempt from here.
import { api, ApiError } from "/static/lib/http.js";
import { el, setBusy, toast } from "/static/lib/dom.js";
import { fmtMinutes } from "/static/lib/format.js";

const list = document.getElementById("exam-list");
const intro = document.getElementById("exams-intro");

async function start(exam, button) {
  const restore = setBusy(button, "Starting…");
  try {
    const started = await api(`/api/exams/${exam.id}/attempts`, { method: "POST" });
    location.assign(`/exam/${started.attemptId}`);
  } catch (err) {
    toast(`Could not start “${exam.title}”: ${err instanceof ApiError ? err.message : "network error"}`, "error");
    restore();
  }
}

function card(exam, isCandidate) {
  const headingId = `exam-${exam.id}-title`;
  const facts = el("ul", { class: "facts" },
    el("li", {}, `${exam.questionCount} question${exam.questionCount === 1 ? "" : "s"}`),
    el("li", {}, fmtMinutes(exam.durationSeconds)),
    el("li", {}, `pass mark ${exam.passMark}`),
  );
  const item = el("li", { class: "card exam-card", "data-testid": "exam-card", "aria-labelledby": headingId },
    el("h2", { id: headingId }, exam.title),
    facts,
    exam.proctoringEnabled
      ? el("p", { class: "badge warn" }, "Proctored: camera required")
      : el("p", { class: "badge" }, "Not proctored"),
  );
  if (isCandidate) {
    const button = el("button", { type: "button", class: "primary", "aria-describedby": headingId }, "Start");
    button.addEventListener("click", () => start(exam, button));
    item.append(el("p", {}, button));
  }
  return item;
}

async function main() {
  try {
    const [me, exams] = await Promise.all([api("/api/auth/me"), api("/api/exams")]);
    const isCandidate = me.role === "candidate";
    list.replaceChildren(...exams.map((exam) => card(exam, isCandidate)));
    if (!exams.length) intro.textContent = "There are no exams yet.";
    else if (isCandidate) intro.textContent = "Choose an exam and press Start. Starting again resumes the same attempt.";
    else intro.textContent = "Exams available to candidates (only candidates can start them).";
  } catch (err) {
    intro.textContent = "Could not load the exams.";
    toast(`Could not load the exams: ${err.message || err}`, "error");
  }
}

main();
