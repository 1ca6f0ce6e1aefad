// DOM helpers shared by every page: element builder, boot data, toasts, screen-reader
// announcements and the busy state of buttons.
export const $ = (id) => document.getElementById(id);

// The page's boot config: JSON in <main data-boot>, written by interfaces/routers/pages.py.
export function boot() {
  return JSON.parse(document.getElementById("main").dataset.boot || "{}");
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

export function toast(message, kind = "info", ms = 5000) {
  const box = document.getElementById("toasts");
  const node = document.createElement("div");
  node.className = `toast ${kind}`;
  node.textContent = message;
  box.append(node);
  setTimeout(() => node.remove(), ms);
}

// Says `text` through the page's live region (#announce). Cleared first and set a moment
// later, so the same text twice is announced twice.
export function announce(text, box = document.getElementById("announce")) {
  if (!box) return;
  box.textContent = "";
  setTimeout(() => { box.textContent = text; }, 50);
}

// Disables `button` and shows `busyText`; returns a function that restores both.
export function setBusy(button, busyText) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = busyText;
  return () => {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  };
}

// Runs `work` with `button` busy; restores it whatever happens. Returns what `work` returns.
export async function withBusy(button, busyText, work) {
  const restore = setBusy(button, busyText);
  try {
    return await work();
  } finally {
    restore();
  }
}
