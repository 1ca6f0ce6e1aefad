// The exam page's server recording. The recording modules are imported only when the server
// records video (the flag off: no MediaRecorder, no outbox, no chunk request, ever).
// startRecordingPanel: the recorder on the proctoring client's shared camera (a camera restart
// or a reload starts a new segment), the uploader draining the outbox (also what an earlier
// page left behind) and the indicator in the proctoring panel. drainLeftoversPanel: an ended
// attempt's page only sends what is still in the outbox.
import { $ } from "/static/lib/dom.js";

// After the exam ended, closing the tab while chunks wait would leave them unsent: ask first.
function guardUnload(uploader, isEnded) {
  window.addEventListener("beforeunload", (event) => {
    if (isEnded() && uploader.backlog > 0 && !["closed", "stopped"].includes(uploader.state)) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
}

export async function startRecordingPanel({ proctor, chunkSeconds, isEnded }) {
  const { startRecording } = await import("/static/lib/recording/index.js");
  const recording = await startRecording({ client: proctor, chunkSeconds, indicatorIn: $("recording-panel") });
  window.smartExamRecording = recording; // like window.smartExamProctoring: for debugging and tests
  recording.uploader.addEventListener("stopped", ({ detail }) => {
    console.warn(`video uploads stopped: HTTP ${detail.status} ${detail.detail || ""}`);
  });
  guardUnload(recording.uploader, isEnded);
  return recording;
}

export async function drainLeftoversPanel({ attemptId }) {
  const { drainLeftovers } = await import("/static/lib/recording/index.js");
  const uploader = await drainLeftovers({ attemptId, indicatorIn: $("outcome") });
  if (uploader) guardUnload(uploader, () => true);
  return uploader;
}
