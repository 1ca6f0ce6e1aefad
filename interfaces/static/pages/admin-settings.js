// Admin settings page: the retention period (GET/PUT /api/admin/settings) and a dry run of the
// retention sweep (POST /api/admin/retention/run?dryRun=true), which deletes nothing.
import { api, ApiError } from "/static/lib/http.js";
import { $, el, withBusy } from "/static/lib/dom.js";

const form = $("settings-form");
const input = $("retention-days");
const result = $("settings-result");
const dryRunResult = $("dry-run-result");

function say(text, kind = "") {
  result.textContent = text;
  result.className = kind;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function fmtBytes(n) {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return i ? `${n.toFixed(1)} ${units[i]}` : `${n} bytes`;
}

async function load() {
  try {
    const settings = await api("/api/admin/settings");
    input.value = settings.retentionDays;
    input.max = settings.maxRetentionDays;
  } catch (err) {
    say(`Could not load the settings: ${err.message || err}`, "bad");
  }
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const days = Number(input.value);
  if (!Number.isInteger(days) || days < 1 || days > Number(input.max)) {
    input.setAttribute("aria-invalid", "true");
    say(`Enter a whole number of days from 1 to ${input.max}.`, "bad");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  await withBusy($("save-settings"), "Saving…", async () => {
    try {
      const saved = await api("/api/admin/settings", { method: "PUT", json: { retentionDays: days } });
      input.value = saved.retentionDays;
      say(`Saved: recordings are kept for ${plural(saved.retentionDays, "day")} after their attempt ended.`);
    } catch (err) {
      say(`Not saved: ${err instanceof ApiError ? err.message : "network error"}`, "bad");
    }
  });
});

function showDryRun(report) {
  const items = [
    ...report.recordings.map((r) =>
      el("li", { "data-testid": "dry-run-recording" },
        `Recording of attempt ${r.attemptId} (ended ${new Date(r.endedAt).toLocaleString()}, ${fmtBytes(r.bytes)})`)),
    ...report.orphans.map((o) =>
      el("li", { "data-testid": "dry-run-orphan" }, `${o.path}: ${o.reason} (${fmtBytes(o.bytes)})`)),
  ];
  const summary = items.length
    ? `The retention run would delete ${plural(report.recordings.length, "recording")} and ` +
      `${plural(report.orphans.length, "orphan file")}, freeing ${fmtBytes(report.bytesFreed)}.`
    : "The retention run would delete nothing now.";
  dryRunResult.replaceChildren(el("p", {}, summary), ...(items.length ? [el("ul", {}, ...items)] : []));
}

$("dry-run").addEventListener("click", (ev) =>
  withBusy(ev.currentTarget, "Checking…", async () => {
    try {
      showDryRun(await api("/api/admin/retention/run?dryRun=true", { method: "POST" }));
    } catch (err) {
      dryRunResult.replaceChildren(el("p", { class: "bad" }, `Dry run failed: ${err.message || err}`));
    }
  }));

load();
