// The recorder: MediaRecorder on the shared camera stream, one chunk every `chunkSeconds`.
// Each recorder session is a new segment (its number from the outbox, so a reload starts the
// next one); each chunk gets its seq (0, 1, … within the segment) and its sha256, and is in the
// outbox BEFORE anyone tries to upload it.
//
// new ChunkRecorder({ attemptId, outbox, chunkSeconds }) is an EventTarget:
//   "state"  detail {state: "idle"|"starting"|"recording"|"stopped"|"unsupported"|"error", segment, mimeType}
//   "chunk"  detail {attemptId, segment, seq, sha256, size, mime, final}   (stored in the outbox)
//   "error"  detail {stage: "start"|"recorder"|"outbox", error}
// start(stream) -> segment (stops a running session first); stop() -> resolves once the last
// chunk is stored. attach(client) follows a ProctoringClient's camera (ProctoringClient.use()).
export const MIME_PREFERENCE = [
  "video/webm;codecs=h264,opus", // Chromium writes Matroska/H.264: the server remuxes it
  "video/webm;codecs=vp9,opus",
  "video/webm;codecs=vp8,opus",
  "video/webm",
];

export function pickMimeType(candidates = MIME_PREFERENCE) {
  if (typeof MediaRecorder === "undefined") return null;
  return candidates.find((type) => MediaRecorder.isTypeSupported(type)) ?? null;
}

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class ChunkRecorder extends EventTarget {
  constructor({ attemptId, outbox, chunkSeconds = 3, mimeTypes = MIME_PREFERENCE, videoBitsPerSecond = undefined }) {
    super();
    this.attemptId = attemptId;
    this.outbox = outbox;
    this.timesliceMs = Math.max(1, Number(chunkSeconds) || 3) * 1000;
    this.mimeTypes = mimeTypes;
    this.videoBitsPerSecond = videoBitsPerSecond;
    this.state = "idle";
    this.segment = null;
    this.mimeType = null;
    this._recorder = null;
    this._stored = Promise.resolve(); // chunks are hashed and stored one after the other, in order
    this._stopped = null; // resolves when the current recorder has fired "stop"
    this._detach = null;
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state) {
    this.state = state;
    this.emit("state", { state, segment: this.segment, mimeType: this.mimeType });
  }

  async start(stream) {
    await this.stop();
    const mimeType = pickMimeType(this.mimeTypes);
    if (mimeType === null) {
      this._setState("unsupported");
      return null;
    }
    this._setState("starting");
    let recorder;
    let segment;
    try {
      segment = await this.outbox.nextSegment(this.attemptId);
      recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: this.videoBitsPerSecond });
    } catch (error) {
      this.emit("error", { stage: "start", error });
      this._setState("error");
      return null;
    }
    this.segment = segment;
    this.mimeType = recorder.mimeType || mimeType;
    this._recorder = recorder;
    let seq = 0;
    let startedAt = new Date().toISOString();
    recorder.addEventListener("start", () => { startedAt = new Date().toISOString(); });
    recorder.addEventListener("dataavailable", ({ data }) => {
      // After stop() (or when the track ended) the recorder is already inactive: the last chunk.
      const final = recorder.state === "inactive";
      if (!data || data.size === 0) return;
      const chunk = { attemptId: this.attemptId, segment, seq: seq++, startedAt, final };
      const recordedAt = new Date().toISOString();
      this._stored = this._stored.then(() => this._store(chunk, data, recordedAt));
    });
    recorder.addEventListener("error", (event) => this.emit("error", { stage: "recorder", error: event.error }));
    this._stopped = new Promise((resolve) => recorder.addEventListener("stop", resolve, { once: true }));
    recorder.addEventListener("stop", () => {
      if (this._recorder === recorder) this._setState("stopped");
    }, { once: true });
    recorder.start(this.timesliceMs);
    this._setState("recording");
    return segment;
  }

  async _store(chunk, blob, recordedAt) {
    try {
      const mime = blob.type || this.mimeType;
      const record = { ...chunk, blob, mime, size: blob.size, recordedAt, sha256: await sha256Hex(blob) };
      await this.outbox.put(record);
      const { blob: _bytes, ...detail } = record;
      this.emit("chunk", detail);
    } catch (error) {
      this.emit("error", { stage: "outbox", error, segment: chunk.segment, seq: chunk.seq });
    }
  }

  // Stops the current session; resolves once its last chunk is in the outbox. Idempotent.
  async stop() {
    const recorder = this._recorder;
    if (recorder && recorder.state !== "inactive") recorder.stop();
    if (this._stopped) await this._stopped;
    await this._stored;
  }

  // Follows a ProctoringClient: a new camera stream starts a new segment; the camera going off
  // stops the session; the client's stop() stops it for good.
  attach(client) {
    const onStream = ({ detail }) => this.start(detail.stream);
    const onCamera = ({ detail }) => { if (detail.state !== "on") this.stop(); };
    client.camera.addEventListener("stream", onStream);
    client.camera.addEventListener("camera", onCamera);
    this._detach = () => {
      client.camera.removeEventListener("stream", onStream);
      client.camera.removeEventListener("camera", onCamera);
    };
    if (client.camera.stream) this.start(client.camera.stream);
  }

  detach() {
    this._detach?.();
    this._detach = null;
    return this.stop();
  }
}
