// Server recording for the candidate's page, composed: outbox (IndexedDB) + recorder
// (MediaRecorder on the shared camera) + uploader (drains the outbox) + indicator.
// The exam page (pages/exam/recording-panel.js) does:
//   const recording = await startRecording({ client: proctor, chunkSeconds, indicatorIn: panel });
//   on submit: recording.pause() (the recorder's last chunk, marked final, is queued) and the
//   submit request goes out at once; resume() if it failed; the client's stop() stops the
//   recorder for good while the uploader keeps draining in the background.
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
  let closed = false;
  uploader.addEventListener("closed", () => { // 410: nothing more is accepted
    closed = true;
    recorder.detach();
  });
  const indicator = indicatorIn ? mountRecordingIndicator(indicatorIn, { recorder, uploader }) : null;
  uploader.start(); // first sends what an earlier page left behind
  let stopped = false;
  const recording = {
    recorder,
    uploader,
    indicator,
    outbox: box,
    // Ends the recorder session now (its last chunk goes into the outbox, marked final);
    // never waits for uploads. Resolves once that chunk is stored.
    pause() {
      const flushed = recorder.detach();
      uploader.kick();
      return flushed;
    },
    // Records again (a new segment) after pause(), unless stopped or closed by the server.
    resume() {
      if (!stopped && !closed && !client.stopped) recorder.attach(client);
    },
    // Stops recording for good; the uploader keeps sending in the background. Resolves when
    // the outbox holds nothing sendable (callers need not wait for it).
    async stop() {
      stopped = true;
      await recording.pause();
      uploader.kick();
      await uploader.drained();
    },
  };
  client.use({ stop: () => recording.stop() });
  recorder.attach(client);
  return recording;
}

// A page with no recorder (the attempt is over): sends what an earlier page left in the outbox
// for this attempt, if anything. Resolves to the uploader, or null when there was nothing.
export async function drainLeftovers({ attemptId, indicatorIn = null, outbox = null }) {
  const box = outbox || await openOutbox();
  if ((await box.count(attemptId)) === 0) {
    if (!outbox) box.close();
    return null;
  }
  const uploader = new ChunkUploader({ attemptId, outbox: box });
  const idle = new EventTarget();
  idle.state = "stopped";
  if (indicatorIn) mountRecordingIndicator(indicatorIn, { recorder: idle, uploader });
  uploader.start();
  return uploader;
}
