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
  const data = text ? JSON.parse(text) : null;
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
