// The exam page's proctoring panel: starts the ProctoringClient (camera + snapshots + page
// events) and shows its state: camera status, the camera-denied banner with Retry, the
// snapshot counter and the persistent upload warning.
import { $, setBusy, toast } from "/static/lib/dom.js";
import { ProctoringClient } from "/static/lib/proctoring/index.js";

// isEnded(): the exam is over (banners stay hidden); onEnded(): the server refused with 409.
export function startProctoring({ attemptId, snapshotIntervalSeconds, isEnded, onEnded }) {
  $("proctor-panel").hidden = false;
  const proctor = new ProctoringClient({ attemptId, snapshotIntervalSeconds, video: $("self-view") });
  window.smartExamProctoring = proctor; // for later modules (recorder, live) and debugging
  const status = $("camera-status");
  proctor.addEventListener("camera", ({ detail }) => {
    if (detail.state === "starting") status.textContent = "Starting camera… (allow camera access if asked)";
    if (detail.state === "on") {
      status.textContent = "Camera on";
      status.className = "camera-status ok";
      if (!$("camera-denied").hidden) {
        $("camera-denied").hidden = true;
        toast("Camera is working again.");
      }
    }
    if (detail.state === "blocked") {
      status.textContent = "Camera off";
      status.className = "camera-status bad";
      $("camera-denied-text").textContent = detail.message;
      $("camera-denied").hidden = isEnded();
    }
    if (detail.state === "stopped") {
      status.textContent = "Camera stopped";
      status.className = "camera-status";
    }
  });
  proctor.addEventListener("snapshot", ({ detail }) => {
    $("snapshots-sent").textContent = String(detail.count);
    $("last-snapshot").textContent = `Last snapshot sent at ${new Date(detail.takenAt || Date.now()).toLocaleTimeString()}`;
  });
  proctor.addEventListener("upload-failed", ({ detail }) => {
    const why = detail.status ? `The server answered ${detail.status}${detail.detail ? `: ${detail.detail}` : ""}.` : "No connection to the server.";
    $("upload-warning-text").textContent = why;
    if (!isEnded()) $("upload-warning").hidden = false;
    toast("A camera snapshot could not be uploaded.", "error", 8000);
  });
  proctor.addEventListener("upload-recovered", () => {
    $("upload-warning").hidden = true;
    toast("Snapshots are uploading again.");
  });
  proctor.addEventListener("ended", () => onEnded());
  $("camera-retry").addEventListener("click", async () => {
    const button = $("camera-retry");
    const restore = setBusy(button, "Trying…");
    const ok = await proctor.retryCamera();
    restore();
    if (!ok && !isEnded()) {
      toast("The camera is still not available.", "error");
      button.focus();
    }
  });
  proctor.watchPage();
  proctor.start();
  return proctor;
}
