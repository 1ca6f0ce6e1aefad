// A proctor's warning: a modal alert dialog over the exam (the rest of the page inert, focus
// kept on its one button, restored afterwards). A second warning replaces the message.
import { $, el } from "/static/lib/dom.js";

export function showWarning(message) {
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
