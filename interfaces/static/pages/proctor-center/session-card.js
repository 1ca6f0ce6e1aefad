// One session card of the Proctor Center: built once per attempt, updated in place on changes.
import { announce, el } from "/static/lib/dom.js";
import { fmtTime, timeAgo } from "/static/lib/format.js";
import {
  initials, networkText, proctorAction, reasonLabel, riskLevel, syncActionButtons,
} from "/static/lib/proctor-ui.js";

function avatar(s) {
  return el("div", { class: "avatar", role: "img", "aria-label": `No snapshot yet for ${s.candidateName}`,
    "data-testid": "avatar" }, initials(s.candidateName));
}

function setMedia(card, s) {
  const box = card.querySelector(".media");
  const current = box.querySelector("img.thumb");
  const url = s.latestSnapshotUrl;
  if (url && current && current.getAttribute("src") === url) return;
  if (url && box.dataset.failed === url) return; // this one failed already: keep the avatar
  let node;
  if (url) {
    node = el("img", { class: "thumb", src: url, alt: `Latest snapshot of ${s.candidateName}`,
      decoding: "async" });
    node.addEventListener("error", () => {
      box.dataset.failed = url;
      node.replaceWith(avatar(s));
    }, { once: true });
  } else {
    if (box.querySelector(".avatar")) return;
    node = avatar(s);
  }
  box.querySelector("img.thumb, .avatar")?.remove();
  box.prepend(node);
}

function actionButton(kind, label, s, lookup, extra = {}) {
  return el("button", { type: "button", "data-action": kind, "aria-label": `${label} ${s.candidateName}`,
    ...extra, onclick: async () => {
      const current = lookup(s.attemptId) || s;
      if (await proctorAction(kind, current)) announce(`${label} done for ${current.candidateName}`);
    } }, label);
}

export function buildCard(s, { lookup, canAct }) {
  const nameId = "name-" + s.attemptId;
  const card = el("article", { class: "card session-card", role: "listitem", "data-testid": "session-card",
    "data-attempt-id": s.attemptId, "aria-labelledby": nameId },
  el("div", { class: "media" },
    el("span", { class: "badge", "data-testid": "live-status" })),
  el("div", { class: "who" },
    el("h2", { id: nameId, "data-field": "name" }),
    s.isSample ? el("span", { class: "badge sample", "data-testid": "sample-badge",
      title: "Example card: shown while no exam is running; actions are disabled" }, "Sample") : null),
  el("p", { class: "exam", "data-field": "exam" }),
  el("dl", { class: "kv" },
    el("dt", {}, "Snapshots"),
    el("dd", {}, el("span", { "data-testid": "snapshot-count" }), " · last ",
      el("time", { "data-field": "last-snapshot" })),
    el("dt", {}, "Risk"),
    el("dd", {}, el("span", { class: "risk", "data-testid": "risk-score" }), " ",
      el("span", { "data-field": "top-reason", class: "muted" })),
    el("dt", {}, "Network"),
    el("dd", { class: "net", "data-testid": "connectivity" }),
    el("dt", {}, "Started"),
    el("dd", {}, el("time", { "data-field": "started" }), el("span", { "data-field": "ended" }))),
  el("div", { class: "card-actions" },
    s.isSample
      ? el("button", { type: "button", disabled: true, "aria-label": `View ${s.candidateName} (sample)` }, "View")
      : el("a", { class: "button", href: `/proctor-center/session/${encodeURIComponent(s.attemptId)}`,
        "aria-label": `View session of ${s.candidateName}`, "data-action": "view" }, "View"),
    s.isSample ? null : el("a", { class: "button", href: `/proctor-center/recording/${encodeURIComponent(s.attemptId)}`,
      "aria-label": `Recording of ${s.candidateName}`, "data-action": "recording" }, "Recording"),
    actionButton("flag", "Flag", s, lookup),
    actionButton("warn", "Warn", s, lookup),
    actionButton("terminate", "Terminate", s, lookup, { class: "danger" })));
  updateCard(card, s, canAct);
  return card;
}

export function updateCard(card, s, canAct) {
  const q = (sel) => card.querySelector(sel);
  q('[data-field="name"]').textContent = s.candidateName || "Unknown candidate";
  q('[data-field="exam"]').textContent = s.examTitle || "";
  q('[data-testid="snapshot-count"]').textContent = String(s.snapshotCount ?? 0);
  const last = q('[data-field="last-snapshot"]');
  last.textContent = s.lastSnapshotAt ? fmtTime(s.lastSnapshotAt) : "never";
  last.dataset.at = s.lastSnapshotAt || "";
  if (s.lastSnapshotAt) last.setAttribute("datetime", s.lastSnapshotAt);
  last.title = s.lastSnapshotAt ? timeAgo(s.lastSnapshotAt) : "";
  const risk = q('[data-testid="risk-score"]');
  risk.textContent = String(s.riskScore ?? 0);
  risk.className = "risk risk-" + riskLevel(s.riskScore ?? 0);
  risk.setAttribute("aria-label", `Risk score ${s.riskScore ?? 0} of 100`);
  const top = (s.riskReasons || [])[0];
  q('[data-field="top-reason"]').textContent = top ? `${reasonLabel(top.type)} ×${top.count}` : "no concerns";
  q('[data-testid="connectivity"]').textContent = networkText(s.connectivityIssues || 0);
  const started = q('[data-field="started"]');
  started.textContent = fmtTime(s.startedAt);
  started.setAttribute("datetime", s.startedAt || "");
  q('[data-field="ended"]').textContent = s.endedAt ? ` · ended ${fmtTime(s.endedAt)}` : "";
  const live = q('[data-testid="live-status"]');
  live.textContent = s.liveStatus || "Offline";
  live.className = "badge " + ({ Live: "live", Reconnecting: "warn" }[s.liveStatus] || "muted");
  syncActionButtons(card, s, canAct);
  card.classList.toggle("is-sample", !!s.isSample);
  setMedia(card, s);
}
