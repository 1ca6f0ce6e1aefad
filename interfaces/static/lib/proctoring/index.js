// Candidate-side proctoring, composed from one module per concern:
//   camera.js         the one shared camera stream (+ denied / restored)
//   snapshots.js      periodic JPEG snapshots with retries
//   client-events.js  proctor events and the page watcher
// Later modules (the recorder's upload queue, the live publisher) attach with use(): they get
// the client (client.camera, client.attemptId, client.postEvent) and are stopped with it.
//
// new ProctoringClient({ attemptId, snapshotIntervalSeconds, video }) is an EventTarget that
// re-dispatches its parts' events, as the page has always seen them:
//   "camera"  "stream"  (camera.js)   "snapshot"  "upload-failed"  "upload-recovered"  "ended"
//   (snapshots.js). client.state / client.stream / client.snapshotsSent stay readable.
import { Camera, defaultConstraints } from "/static/lib/proctoring/camera.js";
import { Snapshots } from "/static/lib/proctoring/snapshots.js";
import { postClientEvent, watchPage } from "/static/lib/proctoring/client-events.js";

export { CLIENT_EVENT_TYPES } from "/static/lib/proctoring/client-events.js";
export { cameraMessage } from "/static/lib/proctoring/camera.js";

const FORWARDED = {
  camera: ["camera", "stream"],
  snapshots: ["snapshot", "upload-failed", "upload-recovered", "ended"],
};

export class ProctoringClient extends EventTarget {
  constructor({ attemptId, snapshotIntervalSeconds = 60, video = null, constraints = null, ...snapshotOptions }) {
    super();
    this.attemptId = attemptId;
    this.stopped = false;
    this.camera = new Camera({ video, constraints: constraints || defaultConstraints(snapshotOptions) });
    this.snapshots = new Snapshots({
      attemptId,
      camera: this.camera,
      intervalSeconds: snapshotIntervalSeconds,
      reportEvent: (type, detail) => this.postEvent(type, detail),
      ...snapshotOptions,
    });
    this._modules = [];
    this._unwatch = null;
    for (const [part, types] of Object.entries(FORWARDED)) {
      for (const type of types) {
        this[part].addEventListener(type, ({ detail }) => this.dispatchEvent(new CustomEvent(type, { detail })));
      }
    }
    this.camera.addEventListener("denied", ({ detail }) => {
      this.postEvent("camera_denied", `${detail.errorName}: ${detail.rawMessage}`.slice(0, 500));
    });
    this.camera.addEventListener("restored", () => this.postEvent("camera_restored", "camera is working again"));
  }

  get state() {
    return this.camera.state;
  }

  get stream() {
    return this.camera.stream;
  }

  get snapshotsSent() {
    return this.snapshots.sent;
  }

  get lastSnapshotAt() {
    return this.snapshots.lastAt;
  }

  get failing() {
    return this.snapshots.failing;
  }

  // Adds a module ({ stop() }, optionally attach(client)); it is stopped with the client.
  use(module) {
    this._modules.push(module);
    module.attach?.(this);
    return module;
  }

  start() {
    return this.camera.start();
  }

  retryCamera() {
    return this.camera.start();
  }

  snapshotNow() {
    return this.snapshots.snapshotNow();
  }

  postEvent(type, detail = "") {
    return postClientEvent(this.attemptId, type, detail);
  }

  // Reports tab switches and connectivity spells as proctor events.
  watchPage() {
    this._unwatch?.();
    this._unwatch = watchPage((type, detail) => this.postEvent(type, detail), () => !this.stopped);
  }

  // Ends everything: modules, timers, camera tracks, page listeners. Idempotent.
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    for (const module of this._modules) module.stop?.();
    this.snapshots.stop();
    this._unwatch?.();
    this._unwatch = null;
    this.camera.stop();
  }
}
