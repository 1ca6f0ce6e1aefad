// Login page: posts the form to /api/auth/login, then goes to ?next= (same-site paths only)
// or to the start page of the role.
import { api, ApiError } from "/static/lib/http.js";
import { setBusy } from "/static/lib/dom.js";

const STAFF = ["proctor", "supervisor", "admin"];
const form = document.getElementById("login-form");
const user = document.getElementById("username");
const pass = document.getElementById("password");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

// Only a local absolute path is accepted ("/exam/…"), never "//host" or "https://…".
function safeNext() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return /^\/(?![/\\])/.test(next) && !next.startsWith("/login") ? next : "";
}

function homeFor(role) {
  return STAFF.includes(role) ? "/proctor-center" : "/exams";
}

function showError(message, field) {
  error.textContent = message;
  error.hidden = false;
  for (const input of [user, pass]) input.setAttribute("aria-invalid", String(!field || input === field));
  (field || user).focus();
}

function clearError() {
  error.hidden = true;
  error.textContent = "";
  user.removeAttribute("aria-invalid");
  pass.removeAttribute("aria-invalid");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  const username = user.value.trim();
  if (!username) return showError("Enter your username.", user);
  if (!pass.value) return showError("Enter your password.", pass);
  const restore = setBusy(submit, "Logging in…");
  try {
    const me = await api("/api/auth/login", { method: "POST", json: { username, password: pass.value } });
    location.assign(safeNext() || homeFor(me.role));
    return;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) showError("Wrong username or password.");
    else if (err instanceof ApiError && err.status === 429) showError(err.message || "Too many attempts; wait a minute.");
    else if (err instanceof ApiError) showError(`Could not log in: ${err.message}`);
    else showError("Could not reach the server. Check your connection and try again.");
    pass.value = "";
  }
  restore();
});

user.focus();
