// The candidate's camera: ONE getUserMedia stream shared by everything that needs it (self
// view, snapshots, and later the recorder and the live publisher).
//
// new Camera({ video, constraints }) is an EventTarget:
//   "camera"   detail {state: "starting"|"on"|"blocked"|"stopped", errorName?, message?}
//   "stream"   detail {stream}   a new live MediaStream (camera.stream stays current; a state
//                                other than "on" means it is gone)
//   "denied"   detail {errorName, rawMessage}   once per outage (until it works again)
//   "restored" detail {}                        the camera works again after a denial
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

export function defaultConstraints({ width = 640, height = 480, audio = false } = {}) {
  return {
    audio,
    video: { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 15, max: 20 } },
  };
}

export class Camera extends EventTarget {
  constructor({ video = null, constraints = null } = {}) {
    super();
    this.video = video;
    this.constraints = constraints || defaultConstraints();
    this.state = "idle";
    this.stream = null;
    this.stopped = false;
    this._denied = false; // a denial was reported and the camera has not worked since
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state, extra = {}) {
    this.state = state;
    this.emit("camera", { state, ...extra });
  }

  // Asks for the camera (again). Resolves true when it is on.
  async start() {
    if (this.stopped) return false;
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
    if (this._denied) {
      this._denied = false;
      this.emit("restored", {});
    }
    return true;
  }

  _blocked(errorName, rawMessage) {
    this._stopTracks();
    this._setState("blocked", { errorName, message: cameraMessage(errorName) });
    if (!this._denied) {
      this._denied = true;
      this.emit("denied", { errorName, rawMessage });
    }
  }

  _stopTracks() {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    if (this.video) this.video.srcObject = null;
  }

  // Releases the camera for good. Idempotent.
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this._stopTracks();
    this._setState("stopped");
  }
}
