// The exam's questions: one fieldset of radio buttons each, saved on change (PUT); a late
// reply never overwrites a newer choice.
import { api, ApiError } from "/static/lib/http.js";
import { $, el, toast } from "/static/lib/dom.js";

// current(): the attempt as the page holds it now (questions; answers updated in place).
// isEnded(): the exam is over; onEnded(): a save answered 409, reload the attempt.
export function mountQuestions(attemptId, current, { isEnded, onEnded }) {
  const saveVersion = {}; // question id -> latest change number

  function updateAnswered() {
    const attempt = current();
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

  async function saveAnswer(qid, choice) {
    if (isEnded()) return;
    const version = (saveVersion[qid] || 0) + 1;
    saveVersion[qid] = version;
    setSaveStatus(qid, "Saving…", "pending");
    try {
      await api(`/api/attempts/${attemptId}/answers/${encodeURIComponent(qid)}`, { method: "PUT", json: { choice } });
      if (saveVersion[qid] !== version) return;
      current().answers[qid] = choice;
      setSaveStatus(qid, "Saved ✓", "ok");
      updateAnswered();
    } catch (err) {
      if (saveVersion[qid] !== version) return;
      if (err instanceof ApiError && err.status === 409) {
        setSaveStatus(qid, "Not saved: the exam has ended", "bad");
        await onEnded();
        return;
      }
      const why = err instanceof ApiError ? err.message : "network error";
      setSaveStatus(qid, "Not saved. Choose the answer again to retry.", "bad");
      toast(`Your answer was not saved (${why}). Choose it again to retry.`, "error", 8000);
    }
  }

  const attempt = current();
  $("questions").replaceChildren(...attempt.questions.map((q, i) => {
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
  return { updateAnswered };
}
