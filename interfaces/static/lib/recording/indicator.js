// A small, unobtrusive recording indicator for the candidate: recording state and the backlog
// (chunks recorded but not yet acknowledged by the server). Polite live region: a screen reader
// hears changes without being interrupted.
//
// mountRecordingIndicator(container, { recorder, uploader }) -> { node, update(), destroy() }
import { el } from "/static/lib/dom.js";
import { plural } from "/static/lib/format.js";

const RECORDER_TEXT = {
  idle: "Recording not started",
  starting: "Starting recording…",
  recording: "● Recording",
  stopped: "Recording stopped",
  unsupported: "This browser cannot record video",
  error: "Recording failed",
};

export function describe(recorderState, uploaderState, backlog) {
  let text = RECORDER_TEXT[recorderState] || recorderState;
  if (uploaderState === "closed") return `${text} · recording closed by the server`;
  if (uploaderState === "stopped") text += " · uploads stopped";
  if (backlog > 0) {
    text += ` · ${plural(backlog, "chunk")} waiting to upload`;
    if (uploaderState === "offline") text += " (offline)";
    if (uploaderState === "waiting") text += " (retrying)";
  } else if (recorderState === "recording") {
    text += " · all uploaded";
  }
  return text;
}

export function mountRecordingIndicator(container, { recorder, uploader }) {
  const node = el("p", { class: "recording-indicator muted small", "data-testid": "recording-indicator",
    role: "status", "aria-live": "polite" });
  container.append(node);
  const update = () => {
    const backlog = uploader?.backlog ?? 0;
    node.dataset.state = recorder.state;
    node.dataset.upload = uploader?.state ?? "none";
    node.dataset.backlog = String(backlog);
    const text = describe(recorder.state, uploader?.state, backlog);
    if (node.textContent !== text) node.textContent = text;
  };
  const subscriptions = [[recorder, "state"], [recorder, "chunk"], [uploader, "state"], [uploader, "acked"]]
    .filter(([target]) => target);
  for (const [target, type] of subscriptions) target.addEventListener(type, update);
  update();
  return {
    node,
    update,
    destroy() {
      for (const [target, type] of subscriptions) target.removeEventListener(type, update);
      node.remove();
    },
  };
}
