// The candidate's side of live video: one PeerLink per watching proctor, sendonly, carrying the
// SHARED camera video track of the ProctoringClient (no audio, never a second getUserMedia).
//
// startPublisher({ client }) -> publisher; it attaches to the client (client.use), so the
// client's stop() (submit, the exam ended) says bye and closes everything.
//   - on every signaling (re)connect: hello to all viewers, and the current status again (the
//     server records transitions only, so a repeat is harmless);
//   - a viewer's hello with a gen we have no live link for ⇒ a new link; a gen we already closed
//     (the viewer left, or our hard reset) ⇒ restart {hard:true}, so the viewer moves to a new gen
//     instead of renegotiating a connection we no longer have;
//   - status to the server, the candidate's live availability as the Proctor Center card shows
//     it: connected (signaling up and the camera on, watched or not) / reconnecting (a viewer's
//     link is in the ladder) / lost (the camera is gone). The server records lost itself when
//     this page's socket goes away. "status" events also say whether a proctor is watching.
import { Signaling } from "/static/lib/live/signaling.js";
import { PeerLink } from "/static/lib/live/peer.js";
import { exposeLiveHooks } from "/static/lib/live/hooks.js";

export class LivePublisher extends EventTarget {
  constructor({ client, signaling = null }) {
    super();
    this.client = client;
    this.signaling = signaling || new Signaling({ attemptId: client.attemptId });
    /** @type {Map<string, PeerLink>} viewer peer id -> link */
    this.links = new Map();
    this.closedGen = new Map(); // viewer peer id -> highest gen whose link we closed
    this.resetting = new Set(); // viewers whose link we hard-reset and who have no connected link yet
    this.counters = {};
    this.ladder = { skipIceRestart: false };
    this.status = "idle"; // what we last told the server: idle|connected|reconnecting|lost
    this.watched = false; // a proctor's link is connected
    this.stopped = false;
    this._onStream = () => {
      this._replaceTracks();
      this._report();
    };
    this._onCamera = () => this._report();
    this._onPageHide = () => this.stop();
    this.signaling.addEventListener("welcome", () => this._onWelcome());
    this.signaling.addEventListener("message", ({ detail }) => this._onMessage(detail));
    client.camera.addEventListener("stream", this._onStream);
    client.camera.addEventListener("camera", this._onCamera);
    window.addEventListener("pagehide", this._onPageHide);
  }

  start() {
    this.signaling.start();
    return this;
  }

  get track() {
    return this.client.camera.stream?.getVideoTracks()[0] || null;
  }

  _send(msg) {
    return this.signaling.send(msg);
  }

  _onWelcome() {
    this._send({ type: "hello", gen: 0 });
    this._report(true); // a new socket: the server may not know our state (a restart, another process)
  }

  _onMessage(msg) {
    const viewer = msg.from;
    if (!viewer) return;
    if (msg.type === "hello") return this._onHello(viewer, Number(msg.gen) || 0);
    if (msg.type === "bye") return this._drop(viewer);
    const link = this.links.get(viewer);
    if (!link || msg.gen !== link.gen) return; // an older generation: drop
    if (msg.type === "restart") {
      if (msg.hard) link.hardReset("the viewer asked");
      else link.restartIce("the viewer asked");
      return;
    }
    link.handle(msg);
  }

  _onHello(viewer, gen) {
    const link = this.links.get(viewer);
    if (link && !link.closed && link.gen === gen) return; // the viewer's socket came back: nothing to do
    if (gen <= (this.closedGen.get(viewer) ?? -1)) {
      this._send({ type: "restart", hard: true, gen, to: viewer });
      return;
    }
    const replacing = !!link && link.everConnected;
    this._drop(viewer);
    if (replacing) this.resetting.add(viewer); // a new gen of a connection we had: reconnecting, not lost
    this._open(viewer, gen);
  }

  _open(viewer, gen) {
    const config = {
      iceServers: this.signaling.welcome?.iceServers || [],
      iceTransportPolicy: this.signaling.welcome?.iceTransportPolicy || "all",
    };
    const link = new PeerLink({
      gen, polite: false, config, ladder: this.ladder, counters: this.counters, label: `viewer ${viewer}`,
      send: (msg) => this._send({ ...msg, to: viewer }),
    });
    const track = this.track;
    link.pc.addTransceiver(track || "video", { direction: "sendonly" });
    link.addEventListener("state", () => {
      if (link.state === "connected") this.resetting.delete(viewer);
      this._report();
    });
    link.addEventListener("hard-reset", () => {
      this.resetting.add(viewer);
      this._send({ type: "restart", hard: true, gen, to: viewer });
      this._forget(viewer, link);
    });
    this.links.set(viewer, link);
    this._report();
  }

  _forget(viewer, link) {
    this.closedGen.set(viewer, Math.max(link.gen, this.closedGen.get(viewer) ?? -1));
    if (this.links.get(viewer) === link) this.links.delete(viewer);
    this._report();
  }

  _drop(viewer) {
    this.resetting.delete(viewer);
    const link = this.links.get(viewer);
    if (!link) return;
    link.close();
    this._forget(viewer, link);
  }

  // After a camera restart the tracks are new: swap them in without renegotiating.
  _replaceTracks() {
    const track = this.track;
    for (const link of this.links.values()) {
      for (const sender of link.pc.getSenders()) {
        if (!sender.track || sender.track.kind === "video") sender.replaceTrack(track).catch(() => {});
      }
    }
  }

  _report(resend = false) {
    const states = [...this.links.values()].map((l) => l.state);
    let status = this.status === "idle" ? "idle" : "lost"; // no camera yet: nothing was lost
    if (this.track && this.signaling.welcome) {
      status = states.includes("reconnecting") || this.resetting.size ? "reconnecting" : "connected";
    }
    const watched = states.includes("connected");
    if (status !== this.status || resend) {
      this.status = status;
      if (this.signaling.welcome && status !== "idle") this._send({ type: "status", state: status });
    }
    if (watched !== this.watched) {
      this.watched = watched;
      this.dispatchEvent(new CustomEvent("status", { detail: { status, watched, viewers: states.length } }));
    }
  }

  /** Says bye, closes every link and the socket. Idempotent. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    window.removeEventListener("pagehide", this._onPageHide);
    this.client.camera.removeEventListener("stream", this._onStream);
    this.client.camera.removeEventListener("camera", this._onCamera);
    for (const link of this.links.values()) link.close();
    this.links.clear();
    if (this.status === "connected" || this.status === "reconnecting") this._send({ type: "status", state: "lost" });
    this._send({ type: "bye" });
    this.signaling.stop();
  }
}

export function startPublisher({ client }) {
  const publisher = new LivePublisher({ client });
  client.use({ stop: () => publisher.stop() });
  exposeLiveHooks(publisher, "publisher");
  return publisher.start();
}
