// Shared by the staff pages (Proctor Center, session page): the flag / warn / terminate dialog
// and the labels for risk, reasons and network state.
import { api } from "/static/lib/http.js";
import { el, toast } from "/static/lib/dom.js";

// askText: a modal <dialog> asking for one text; resolves to the text, or null when cancelled.
export function askText({ title, description = "", label, confirm = "OK", danger = false, required = false,
  placeholder = "", maxLength = 2000 }) {
  return new Promise((resolve) => {
    const id = "ask-" + Math.random().toString(36).slice(2);
    const input = el("textarea", { id: id + "-text", rows: 3, maxlength: maxLength, placeholder,
      required, "data-testid": "dialog-text" });
    const ok = el("button", { type: "submit", value: "ok", class: danger ? "danger" : "primary",
      "data-testid": "dialog-confirm" }, confirm);
    const cancel = el("button", { type: "button", "data-testid": "dialog-cancel" }, "Cancel");
    const form = el("form", { method: "dialog" },
      el("h2", { id: id + "-title" }, title),
      description ? el("p", { id: id + "-desc", class: "muted" }, description) : null,
      el("label", { for: input.id }, label), input,
      el("div", { class: "dialog-actions" }, cancel, ok));
    const dlg = el("dialog", { class: "ask", "aria-labelledby": id + "-title",
      "aria-describedby": description ? id + "-desc" : null, "data-testid": "action-dialog" }, form);
    let value = null;
    form.addEventListener("submit", (e) => {
      if (required && !input.value.trim()) { e.preventDefault(); input.focus(); return; }
      value = input.value.trim();
    });
    cancel.addEventListener("click", () => dlg.close());
    dlg.addEventListener("close", () => { dlg.remove(); resolve(value); });
    document.body.append(dlg);
    dlg.showModal();
    input.focus();
  });
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] || "?") + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

const REASON_LABELS = { tab_hidden: "Tab hidden", fullscreen_exit: "Left full screen", camera_denied: "Camera denied",
  camera_lost: "Camera lost", flagged: "Flagged by proctor", warned: "Warned", face_missing: "No face visible" };
export function reasonLabel(type) {
  return REASON_LABELS[type] || String(type).replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}
export function riskLevel(score) {
  return score >= 60 ? "high" : score >= 25 ? "medium" : "low";
}
export function networkText(n) {
  return n ? `${n} network interruption${n === 1 ? "" : "s"}` : "Network stable";
}

// Only proctors and admins act; a supervisor watches.
export const ACTING_ROLES = ["proctor", "admin"];

// Enables the flag/warn/terminate buttons under `root` for session `s` and explains why not.
export function syncActionButtons(root, s, canAct) {
  const active = s.status === "Active";
  for (const button of root.querySelectorAll("button[data-action]")) {
    const kind = button.dataset.action;
    const allowed = !s.isSample && canAct && (kind === "flag" || active);
    button.disabled = !allowed;
    button.title = s.isSample ? "Sample session: actions are disabled"
      : !canAct ? "Only proctors and admins can do this" : allowed ? "" : "The session has ended";
  }
}

// Flag / warn / terminate one session: asks for the text, calls the API, reports with a toast.
// Resolves true when the action was done.
export async function proctorAction(kind, session) {
  const who = session.candidateName || "this candidate";
  const spec = {
    flag: { title: `Flag ${who}`, description: "A flag marks this attempt for review and adds to its risk score.",
      label: "Note (optional)", confirm: "Flag", path: "flag", key: "note" },
    warn: { title: `Warn ${who}`, description: "The candidate sees this message on their exam page at once.",
      label: "Message to the candidate", confirm: "Send warning", required: true, path: "warn", key: "message" },
    terminate: { title: `Terminate ${who}'s attempt`, description: "The attempt ends now and is marked Cancelled. This cannot be undone.",
      label: "Reason", confirm: "Terminate attempt", danger: true, required: true, key: "reason" },
  }[kind];
  const text = await askText(spec);
  if (text === null) return false;
  const id = encodeURIComponent(session.attemptId);
  const url = kind === "terminate" ? `/api/attempt-control/${id}/force-end` : `/api/Proctor/sessions/${id}/${spec.path}`;
  try {
    await api(url, { method: "POST", json: { [spec.key]: text } });
    toast({ flag: `Flagged ${who}`, warn: `Warning sent to ${who}`, terminate: `Terminated ${who}'s attempt` }[kind]);
    return true;
  } catch (err) {
    toast(`Could not ${kind === "terminate" ? "terminate" : kind}: ${err.message}`, "error");
    return false;
  }
}
