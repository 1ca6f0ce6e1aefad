// Server recording for the candidate's page, composed: outbox (IndexedDB) + recorder
// (MediaRecorder on the shared camera) + uploader (drains the outbox) + indicator.
// Not wired into the exam page yet (the chunk route arrives with issue 13); the page will do:
//   const recording = await startRecording({ client: proctor, chunkSeconds, indicatorIn: panel });
//   …on submit: recording.stop() (does not block the submit request).
import { openOutbox } from "/static/lib/recording/outbox.js";
import { ChunkRecorder } from "/static/lib/recording/recorder.js";
import { ChunkUploader } from "/static/lib/recording/uploader.js";
import { mountRecordingIndicator } from "/static/lib/recording/indicator.js";

export async function startRecording({ client, chunkSeconds = 3, indicatorIn = null, outbox = null }) {
  const box = outbox || await openOutbox();
  const { attemptId } = client;
  const recorder = new ChunkRecorder({ attemptId, outbox: box, chunkSeconds });
  const uploader = new ChunkUploader({ attemptId, outbox: box });
  recorder.addEventListener("chunk", () => uploader.kick());
  uploader.addEventListener("closed", () => recorder.detach()); // 410: nothing more is accepted
  const indicator = indicatorIn ? mountRecordingIndicator(indicatorIn, { recorder, uploader }) : null;
  uploader.start(); // first sends what an earlier page left behind
  const recording = {
    recorder,
    uploader,
    indicator,
    outbox: box,
    // Stops recording; the last chunk goes into the outbox and is uploaded in the background.
    // Resolves when the outbox holds nothing sendable (callers need not wait for it).
    async stop() {
      await recorder.detach();
      uploader.kick();
      await uploader.drained();
    },
  };
  client.use({ stop: () => recording.stop() });
  recorder.attach(client);
  return recording;
}
