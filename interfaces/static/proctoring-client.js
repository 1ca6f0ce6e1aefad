// Candidate-side proctoring: the camera, periodic JPEG snapshots and proctor events.
//
// new ProctoringClient({ attemptId, snapshotIntervalSeconds, video }) is an EventTarget:
//   "camera"          detail {state: "starting"|"on"|"blocked"|"stopped", errorName, message}
//   "stream"          detail {stream}  (the live MediaStream; a recorder / WebRTC publisher
//                     can attach here: client.stream stays current, "camera" state "stopped" ends it)
//   "snapshot"        detail {snapshotId, url, takenAt, count}   (only after a real 201)
//   "upload-failed"   detail {status, error, detail, tries}      (after every retry failed)
//   "upload-recovered" detail {}                                 (first success after a failure)
//   "ended"           detail {detail}  (the server refused with 409: the attempt is over)
// Nothing here pretends: counters move only on a server acknowledgement.
import { cookie } from "/static/api.js";

export const CLIENT_EVENT_TYPES = [
  "tab_hidden", "tab_visible", "fullscreen_exit", "camera_denied", "camera_restored",
  "snapshot_upload_failed", "network_offline", "network_online",
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const jitter = (ms) => Math.round(ms * (0.85 + Math.random() * 0.3));

// Retry transient failures only; a 4xx other than these will not change by repeating it.
function retryable(status) {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

async function readJson(res) {
  const text = await res.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function cameraMessage(name) {
  switch (name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return "Camera access is blocked. Allow camera access for this site in your browser " +
        "(the camera icon in the address bar or the site settings), then press Retry camera.";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "No usable camera was found. Connect a camera, then press Retry camera.";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "Your camera could not start; another application may be using it. " +
        "Close it, then press Retry camera.";
    case "TrackEnded":
      return "Your camera stopped. Check that it is connected, then press Retry camera.";
    case "Unsupported":
      return "This browser cannot use a camera on this page (a secure https address is required).";
    default:
      return "The camera could not start. Press Retry camera to try again.";
  }
}

export class ProctoringClient extends EventTarget {
  constructor({
    attemptId,
    snapshotIntervalSeconds = 60,
    video = null,
    firstSnapshotDelayMs = 1000,
    width = 640,
    height = 480,
    quality = 0.7,
    retryDelaysMs = [1000, 2000],
    uploadTimeoutMs = 15000,
    constraints = null,
  }) {
    super();
    this.attemptId = attemptId;
    this.intervalMs = Math.max(5, Number(snapshotIntervalSeconds) || 60) * 1000;
    this.video = video;
    this.firstSnapshotDelayMs = firstSnapshotDelayMs;
    this.width = width;
    this.height = height;
    this.quality = quality;
    this.retryDelaysMs = retryDelaysMs;
    this.uploadTimeoutMs = uploadTimeoutMs;
    this.constraints = constraints || {
      audio: false,
      video: { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 15, max: 20 } },
    };
    this.state = "idle";
    this.stream = null;
    this.snapshotsSent = 0;
    this.lastSnapshotAt = null;
    this.failing = false; // the last snapshot upload failed for good
    this.stopped = false;
    this._deniedReported = false;
    this._uploading = false;
    this._timers = new Set();
    this._canvas = null;
    this._offlineSince = null;
    this._listeners = [];
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state, extra = {}) {
    this.state = state;
    this.emit("camera", { state, ...extra });
  }

  _later(fn, ms) {
    const id = setTimeout(() => {
      this._timers.delete(id);
      fn();
    }, ms);
    this._timers.add(id);
  }

  _clearTimers() {
    for (const id of this._timers) {
      clearTimeout(id);
      clearInterval(id);
    }
    this._timers.clear();
  }

  // -- camera ---------------------------------------------------------------------------------
  async start() {
    if (this.stopped) return false;
    this._clearTimers();
    this._stopTracks();
    this._setState("starting");
    if (!navigator.mediaDevices?.getUserMedia) {
      this._blocked("Unsupported", "navigator.mediaDevices is not available");
      return false;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(this.constraints);
    } catch (err) {
      this._blocked(err?.name || "Error", err?.message || String(err));
      return false;
    }
    if (this.stopped) {
      stream.getTracks().forEach((t) => t.stop());
      return false;
    }
    this.stream = stream;
    for (const track of stream.getVideoTracks()) {
      track.addEventListener("ended", () => {
        if (!this.stopped && this.stream === stream) this._blocked("TrackEnded", "the camera track ended");
      });
    }
    if (this.video) {
      this.video.srcObject = stream;
      this.video.play().catch(() => {}); // muted: autoplay is allowed
    }
    this._setState("on");
    this.emit("stream", { stream });
    if (this._deniedReported) {
      this._deniedReported = false;
      this.postEvent("camera_restored", "camera is working again");
    }
    this._scheduleSnapshots();
    return true;
  }

  retryCamera() {
    return this.start();
  }

  _blocked(errorName, rawMessage) {
    this._clearTimers();
    this._stopTracks();
    const message = cameraMessage(errorName);
    this._setState("blocked", { errorName, message });
    if (!this._deniedReported) {
      this._deniedReported = true;
      this.postEvent("camera_denied", `${errorName}: ${rawMessage}`.slice(0, 500));
    }
  }

  _stopTracks() {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    if (this.video) this.video.srcObject = null;
  }

  // Ends everything: timers, camera tracks, page listeners. Idempotent.
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this._clearTimers();
    this._stopTracks();
    for (const [target, type, fn] of this._listeners) target.removeEventListener(type, fn);
    this._listeners = [];
    this._setState("stopped");
  }

  // -- snapshots ------------------------------------------------------------------------------
  async _waitForFrames(timeoutMs = 3000) {
    const video = this.video;
    if (!video || video.readyState >= 2) return;
    await Promise.race([
      new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true })),
      sleep(timeoutMs),
    ]);
  }

  _scheduleSnapshots() {
    const begin = async () => {
      await this._waitForFrames();
      if (this.state !== "on") return;
      this._later(() => this.snapshotNow(), this.firstSnapshotDelayMs);
      const id = setInterval(() => this.snapshotNow(), this.intervalMs);
      this._timers.add(id);
    };
    begin();
  }

  async capture() {
    const source = this.video;
    if (!source || !source.videoWidth || !source.videoHeight) return null;
    const canvas = this._canvas || (this._canvas = document.createElement("canvas"));
    canvas.width = this.width;
    canvas.height = this.height;
    const ctx = canvas.getContext("2d");
    // Cover the 4:3 frame, cropping the centre of other aspect ratios.
    const scale = Math.max(this.width / source.videoWidth, this.height / source.videoHeight);
    const w = source.videoWidth * scale;
    const h = source.videoHeight * scale;
    ctx.drawImage(source, (this.width - w) / 2, (this.height - h) / 2, w, h);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", this.quality));
  }

  // One snapshot: capture, upload with retries. Returns true only on a 201 from the server.
  async snapshotNow() {
    if (this.stopped || this.state !== "on" || this._uploading) return false;
    this._uploading = true;
    try {
      let blob = await this.capture();
      if (!blob) {
        await sleep(500); // the first frame may not be decoded yet
        blob = this.state === "on" ? await this.capture() : null;
      }
      if (!blob) return false;
      const result = await this.upload(blob);
      if (result.ok) {
        this.snapshotsSent += 1;
        this.lastSnapshotAt = result.data.takenAt || new Date().toISOString();
        this.emit("snapshot", { ...result.data, count: this.snapshotsSent });
        if (this.failing) {
          this.failing = false;
          this.emit("upload-recovered", {});
        }
        return true;
      }
      if (result.aborted) return false;
      if (result.status === 409) {
        this.emit("ended", { detail: result.detail });
        return false;
      }
      this.failing = true;
      this.emit("upload-failed", result);
      const why = result.status ? `HTTP ${result.status}${result.detail ? ` (${result.detail})` : ""}` : result.detail;
      this.postEvent("snapshot_upload_failed", `${why} after ${result.tries} tries`.slice(0, 500));
      return false;
    } finally {
      this._uploading = false;
    }
  }

  async upload(blob) {
    const url = `/api/Proctor/snapshot/${encodeURIComponent(this.attemptId)}`;
    let last = { status: 0, error: "NetworkError", detail: "no response" };
    let tries = 0;
    for (let i = 0; i <= this.retryDelaysMs.length; i++) {
      if (i > 0) await sleep(jitter(this.retryDelaysMs[i - 1]));
      if (this.stopped) return { ok: false, aborted: true };
      tries += 1;
      try {
        const res = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": cookie("se_csrf") },
          body: blob,
          signal: AbortSignal.timeout(this.uploadTimeoutMs),
        });
        const data = await readJson(res);
        if (res.ok && data && data.snapshotId) return { ok: true, data, tries };
        last = res.ok
          ? { status: res.status, error: "BadResponse", detail: "the server did not confirm the snapshot" }
          : { status: res.status, error: data?.error || "HttpError", detail: data?.detail || res.statusText };
        if (res.status === 409 || !(res.ok || retryable(res.status))) break;
      } catch (err) {
        last = { status: 0, error: err?.name || "NetworkError", detail: err?.name === "TimeoutError" ? "upload timed out" : "network error" };
      }
    }
    return { ok: false, ...last, tries };
  }

  // -- proctor events -------------------------------------------------------------------------
  // Best effort with one retry; failures are logged, never shown as success.
  async postEvent(type, detail = "") {
    const url = `/api/Proctor/event/${encodeURIComponent(this.attemptId)}`;
    for (let i = 0; i < 2; i++) {
      try {
        const res = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": cookie("se_csrf") },
          body: JSON.stringify({ type, detail }),
          signal: AbortSignal.timeout(10000),
        });
        if (res.ok) return true;
        if (!retryable(res.status)) {
          console.warn(`proctor event ${type} refused: HTTP ${res.status}`);
          return false;
        }
      } catch {
        /* network: retry once */
      }
      await sleep(jitter(1000));
    }
    console.warn(`proctor event ${type} could not be sent`);
    return false;
  }

  _on(target, type, fn) {
    target.addEventListener(type, fn);
    this._listeners.push([target, type, fn]);
  }

  // Reports tab switches and connectivity spells as proctor events.
  watchPage() {
    this._on(document, "visibilitychange", () => {
      if (this.stopped) return;
      if (document.visibilityState === "hidden") this.postEvent("tab_hidden", "the exam tab was hidden");
      else this.postEvent("tab_visible", "the exam tab is visible again");
    });
    this._on(window, "offline", () => {
      this._offlineSince = this._offlineSince || new Date();
    });
    this._on(window, "online", async () => {
      if (this.stopped || !this._offlineSince) return;
      const since = this._offlineSince;
      this._offlineSince = null;
      const seconds = Math.round((Date.now() - since.getTime()) / 1000);
      await this.postEvent("network_offline", `offline from ${since.toISOString()} for ${seconds} s`);
      this.postEvent("network_online", "connection restored");
    });
    if (document.fullscreenElement !== undefined) {
      this._on(document, "fullscreenchange", () => {
        if (!this.stopped && !document.fullscreenElement) this.postEvent("fullscreen_exit", "left full screen");
      });
    }
  }
}
