// The proctor's side of live video: one recvonly PeerLink to the candidate's page (the
// publisher), frames into the page's <video muted autoplay playsinline>, and the status badge:
//   Live          the connection is up
//   Reconnecting  it was up and the ladder is working on it (ICE restart, hard reset)
//   Offline       no publisher (it said bye, or never came), or the server refused
// This page owns `gen`: a hard reset (ours, or one the publisher asks for) is gen + 1 and a hello.
// A hello from another publisher peer (the candidate reloaded) is a hard reset too; messages
// from any other publisher peer are dropped, so two tabs of the candidate cannot ping-pong us.
import { Signaling } from "/static/lib/live/signaling.js";
import { PeerLink } from "/static/lib/live/peer.js";
import { exposeLiveHooks } from "/static/lib/live/hooks.js";

const NO_OFFER_MS = 8000; // after a hard reset: no offer this long ⇒ the publisher is gone

export class LiveViewer extends EventTarget {
  /** @param {{attemptId: string, video: HTMLVideoElement, statusEl?: HTMLElement, noteEl?: HTMLElement}} o */
  constructor({ attemptId, video, statusEl = null, noteEl = null, signaling = null }) {
    super();
    this.video = video;
    this.statusEl = statusEl;
    this.noteEl = noteEl;
    this.signaling = signaling || new Signaling({ attemptId });
    this.gen = 0;
    this.genUsed = false; // a link was made for this gen (so a fresh start needs gen + 1)
    this.publisher = null; // the publisher's peer id, once heard
    /** @type {PeerLink|null} */
    this.link = null;
    this.links = new Map(); // publisher peer id -> link (the shape window.smartExamLive expects)
    this.counters = {};
    this.ladder = { skipIceRestart: false };
    this.status = "Offline";
    this.wasLive = false;
    this.resetting = false;
    this.stopped = false;
    this._noOfferTimer = null;
    this.signaling.addEventListener("welcome", () => this._hello());
    this.signaling.addEventListener("message", ({ detail }) => this._onMessage(detail));
    this.signaling.addEventListener("state", ({ detail }) => {
      if (detail.state === "refused") this._refused(detail);
    });
    this._onPageHide = () => this.stop();
    window.addEventListener("pagehide", this._onPageHide);
  }

  start() {
    this.signaling.start();
    this._render();
    return this;
  }

  _send(msg) {
    return this.signaling.send(msg);
  }

  _hello() {
    this._send({ type: "hello", gen: this.gen });
  }

  _onMessage(msg) {
    const from = msg.from;
    if (!from) return;
    if (this.publisher && from !== this.publisher && msg.type === "hello") {
      this.publisher = from; // the newest page wins (a reload, or a second tab)
      this._hardReset("the candidate's page changed");
      return;
    }
    if (msg.type === "hello") {
      this.publisher = from;
      if (!this.link && this.genUsed) this._nextGen();
      this._hello();
      return;
    }
    if (msg.type === "bye") {
      if (from !== this.publisher) return;
      this._publisherLeft();
      this._nextGen();
      this._hello(); // another page of the candidate that is still open answers this
      return;
    }
    if (msg.type === "offer" && !this.publisher) this.publisher = from;
    // another generation, or another page of the candidate (an older second tab): drop
    if (msg.gen !== this.gen || from !== this.publisher) return;
    if (msg.type === "restart") {
      this.counters.restartsAsked = (this.counters.restartsAsked || 0) + 1;
      if (msg.hard) this._hardReset("the candidate's page asked");
      else this.link?.restartIce("the candidate's page asked");
      return;
    }
    if (msg.type === "offer" && !this.link) this._open();
    this.link?.handle(msg);
  }

  _open() {
    clearTimeout(this._noOfferTimer);
    const welcome = this.signaling.welcome || {};
    const link = new PeerLink({
      gen: this.gen, polite: true, ladder: this.ladder, counters: this.counters, label: "publisher",
      config: { iceServers: welcome.iceServers || [], iceTransportPolicy: welcome.iceTransportPolicy || "all" },
      send: (msg) => this._send(msg),
    });
    this.genUsed = true;
    this.link = link;
    this.links = new Map([[this.publisher, link]]);
    link.addEventListener("state", () => {
      if (link.state === "connected") this.resetting = false;
      this._render();
    });
    link.addEventListener("track", ({ detail }) => this._show(detail));
    link.addEventListener("hard-reset", () => this._hardReset("the ladder's last rung"));
  }

  _show({ track, streams }) {
    if (track.kind !== "video") return;
    this.video.srcObject = streams[0] || new MediaStream([track]);
    this.video.play().catch(() => {}); // muted: autoplay is allowed
  }

  _closeLink() {
    this.link?.close();
    this.link = null;
    this.links = new Map();
  }

  _nextGen() {
    this.gen += 1;
    this.genUsed = false;
  }

  _hardReset(reason) {
    if (this.stopped) return;
    console.info(`live: new connection (${reason})`);
    this._closeLink();
    this._nextGen();
    this.resetting = this.wasLive;
    this._hello();
    clearTimeout(this._noOfferTimer);
    this._noOfferTimer = setTimeout(() => {
      if (!this.link) this._publisherLeft();
    }, NO_OFFER_MS);
    this._render();
  }

  _publisherLeft() {
    clearTimeout(this._noOfferTimer);
    this._closeLink();
    this.publisher = null;
    this.wasLive = false;
    this.resetting = false;
    this.video.srcObject = null;
    this._render();
  }

  _refused({ code, reason }) {
    this._publisherLeft();
    if (this.noteEl) {
      this.noteEl.textContent = `Live video is not available: ${reason || `code ${code}`}.`;
      this.noteEl.hidden = false;
    }
  }

  _render() {
    let status = "Offline";
    const state = this.link?.state;
    if (state === "connected") status = "Live";
    else if (this.wasLive && (state === "reconnecting" || this.resetting)) status = "Reconnecting";
    if (status === "Live") this.wasLive = true;
    if (status === this.status && this.statusEl?.textContent === status) return;
    this.status = status;
    if (this.statusEl) {
      this.statusEl.textContent = status;
      this.statusEl.className = "badge " + ({ Live: "live", Reconnecting: "warn" }[status] || "muted");
    }
    this.dispatchEvent(new CustomEvent("status", { detail: { status } }));
  }

  /** Says bye and closes everything (page hide, the attempt ended). Idempotent. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    window.removeEventListener("pagehide", this._onPageHide);
    clearTimeout(this._noOfferTimer);
    this._send({ type: "bye" });
    this._closeLink();
    this.signaling.stop();
    this.wasLive = false;
    this._render();
  }
}

export function startViewer(options) {
  const viewer = new LiveViewer(options);
  exposeLiveHooks(viewer, "viewer");
  return viewer.start();
}
