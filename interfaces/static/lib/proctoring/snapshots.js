// Periodic JPEG snapshots of the shared camera: the first about 1 s after the first decoded
// frame, then every interval; each upload is tried 3 times (1 s and 2 s apart, with jitter).
//
// new Snapshots({ attemptId, camera, intervalSeconds, reportEvent }) is an EventTarget:
//   "snapshot"         detail {snapshotId, url, takenAt, count}   (only after a real 201)
//   "upload-failed"    detail {status, error, detail, tries}      (after every retry failed)
//   "upload-recovered" detail {}                                  (first success after a failure)
//   "ended"            detail {detail}  (the server refused with 409: the attempt is over)
// Nothing here pretends: counters move only on a server acknowledgement.
import { csrfHeaders, readJson, retryable } from "/static/lib/http.js";
import { jitter, sleep } from "/static/lib/backoff.js";

export class Snapshots extends EventTarget {
  constructor({
    attemptId,
    camera,
    intervalSeconds = 60,
    reportEvent = () => {},
    firstSnapshotDelayMs = 1000,
    width = 640,
    height = 480,
    quality = 0.7,
    retryDelaysMs = [1000, 2000],
    uploadTimeoutMs = 15000,
  }) {
    super();
    this.attemptId = attemptId;
    this.camera = camera;
    this.intervalMs = Math.max(5, Number(intervalSeconds) || 60) * 1000;
    this.reportEvent = reportEvent;
    this.firstSnapshotDelayMs = firstSnapshotDelayMs;
    this.width = width;
    this.height = height;
    this.quality = quality;
    this.retryDelaysMs = retryDelaysMs;
    this.uploadTimeoutMs = uploadTimeoutMs;
    this.sent = 0;
    this.lastAt = null;
    this.failing = false; // the last snapshot upload failed for good
    this.stopped = false;
    this._uploading = false;
    this._timers = new Set();
    this._canvas = null;
    this._generation = 0; // a schedule begun for an earlier camera start never adds timers
    this._onCamera = ({ detail }) => {
      this._clearTimers();
      this._generation += 1;
      if (detail.state === "on") this._schedule(this._generation);
    };
    camera.addEventListener("camera", this._onCamera);
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get cameraOn() {
    return this.camera.state === "on";
  }

  stop() {
    this.stopped = true;
    this._clearTimers();
    this.camera.removeEventListener("camera", this._onCamera);
  }

  _clearTimers() {
    for (const id of this._timers) {
      clearTimeout(id);
      clearInterval(id);
    }
    this._timers.clear();
  }

  async _waitForFrames(timeoutMs = 3000) {
    const video = this.camera.video;
    if (!video || video.readyState >= 2) return;
    await Promise.race([
      new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true })),
      sleep(timeoutMs),
    ]);
  }

  async _schedule(generation) {
    await this._waitForFrames();
    if (!this.cameraOn || this.stopped || generation !== this._generation) return;
    const first = setTimeout(() => {
      this._timers.delete(first);
      this.snapshotNow();
    }, this.firstSnapshotDelayMs);
    this._timers.add(first);
    this._timers.add(setInterval(() => this.snapshotNow(), this.intervalMs));
  }

  async capture() {
    const source = this.camera.video;
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
    if (this.stopped || !this.cameraOn || this._uploading) return false;
    this._uploading = true;
    try {
      let blob = await this.capture();
      if (!blob) {
        await sleep(500); // the first frame may not be decoded yet
        blob = this.cameraOn ? await this.capture() : null;
      }
      if (!blob) return false;
      const result = await this.upload(blob);
      if (result.ok) {
        this.sent += 1;
        this.lastAt = result.data.takenAt || new Date().toISOString();
        this.emit("snapshot", { ...result.data, count: this.sent });
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
      this.reportEvent("snapshot_upload_failed", `${why} after ${result.tries} tries`.slice(0, 500));
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
          headers: csrfHeaders({ "Content-Type": "image/jpeg" }),
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
}
