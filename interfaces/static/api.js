// Shared helpers for every page: JSON API calls with the CSRF header, boot data, toasts.
export function cookie(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
}

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail || error);
    this.status = status;
    this.error = error;
  }
}

// fetch wrapper: sends cookies + X-CSRF-Token, parses {"error","detail"} into ApiError.
export async function api(path, { method = "GET", json, body, headers = {}, signal } = {}) {
  const h = { ...headers };
  if (method !== "GET" && method !== "HEAD") h["X-CSRF-Token"] = cookie("se_csrf");
  if (json !== undefined) {
    h["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const res = await fetch(path, { method, headers: h, body, signal, credentials: "same-origin" });
  if (res.status === 401 && !path.startsWith("/api/auth/login")) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // a proxy's HTML error page, say: report it as an ApiError, never a SyntaxError
  }
  if (!res.ok) throw new ApiError(res.status, data?.error || "Error", data?.detail || res.statusText);
  return data;
}

export function boot() {
  return JSON.parse(document.getElementById("main").dataset.boot || "{}");
}

export function toast(message, kind = "info", ms = 5000) {
  const box = document.getElementById("toasts");
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = message;
  box.append(el);
  setTimeout(() => el.remove(), ms);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function fmtTime(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "—";
}

// ---- Proctor helpers (Proctor Center + session page) -------------------------------------------
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

// Live connection indicator for an EventSource: sets text + class on `node`.
export function showStream(node, state) {
  if (!node) return;
  node.dataset.state = state;
  node.textContent = { connected: "● Live updates", connecting: "○ Connecting…", reconnecting: "○ Reconnecting…" }[state] || state;
  node.className = "badge stream-" + state;
}
