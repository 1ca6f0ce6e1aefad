// HTTP for every page: JSON API calls with the session cookie and the CSRF header; one error type.
export function cookie(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
}

// The header every state-changing request carries (double-submit cookie).
export function csrfHeaders(headers = {}) {
  return { ...headers, "X-CSRF-Token": cookie("se_csrf") };
}

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail || error);
    this.status = status;
    this.error = error;
  }
}

// A body that should be JSON, or null (empty, or a proxy's HTML error page): never throws.
export async function readJson(res) {
  const text = await res.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Transient failures worth repeating; any other 4xx will not change by sending it again.
export function retryable(status) {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

// fetch wrapper: sends cookies + X-CSRF-Token, parses {"error","detail"} into ApiError.
// A 401 (outside the login call) sends the browser to the login page.
export async function api(path, { method = "GET", json, body, headers = {}, signal } = {}) {
  const h = method !== "GET" && method !== "HEAD" ? csrfHeaders(headers) : { ...headers };
  if (json !== undefined) {
    h["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const res = await fetch(path, { method, headers: h, body, signal, credentials: "same-origin" });
  if (res.status === 401 && !path.startsWith("/api/auth/login")) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
  }
  const data = await readJson(res);
  if (!res.ok) throw new ApiError(res.status, data?.error || "Error", data?.detail || res.statusText);
  return data;
}
