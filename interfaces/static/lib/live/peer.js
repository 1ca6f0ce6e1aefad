// One RTCPeerConnection between the candidate's page and one proctor's page: perfect
// negotiation (MDN; the viewer is polite), one generation (`gen`, owned by the viewer), and the
// reconnect ladder both sides run:
//   disconnected ⇒ after DISCONNECTED_GRACE_MS, an ICE restart if no byte arrived meanwhile
//                  (Chromium often recovers by itself from a short spell);
//   failed       ⇒ an ICE restart at once (a failed connection never recovers by itself);
//   not connected within CONNECT_TIMEOUT_MS (of creation or of the last ICE restart)
//                ⇒ "hard-reset": the owner throws this connection away and starts a new one.
//
// new PeerLink({ gen, polite, config, send, ladder, counters }) is an EventTarget:
//   "state"       detail {state: "connecting"|"connected"|"reconnecting"|"closed"}
//   "track"       detail {track, streams}
//   "hard-reset"  detail {reason}   (emitted once; the link is closed right after)
export const DISCONNECTED_GRACE_MS = 2000;
export const CONNECT_TIMEOUT_MS = 8000;

/** Sum of bytes received over the connection's transports (stops growing when the path is cut). */
async function bytesReceived(pc) {
  let total = 0;
  try {
    (await pc.getStats()).forEach((r) => {
      if (r.type === "transport") total += r.bytesReceived || 0;
    });
  } catch {
    return -1;
  }
  return total;
}

function candidateJson(c) {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
}

export class PeerLink extends EventTarget {
  /**
   * @param {{gen: number, polite: boolean, config: RTCConfiguration, send: (msg: object) => void,
   *   ladder?: {skipIceRestart?: boolean}, counters?: Record<string, number>, label?: string}} options
   */
  constructor({ gen, polite, config, send, ladder = {}, counters = {}, label = "" }) {
    super();
    this.gen = gen;
    this.polite = polite;
    this.label = label;
    this.ladder = ladder; // read at each rung: tests flip skipIceRestart on the live object
    this.counters = counters;
    this._send = send;
    this.state = "connecting";
    this.everConnected = false;
    this.iceRestarts = 0;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this._pendingIce = [];
    this._graceTimer = null;
    this._hardTimer = null;
    this.pc = new RTCPeerConnection(config);
    this.pc.addEventListener("negotiationneeded", () => this._negotiate());
    this.pc.addEventListener("icecandidate", ({ candidate }) => {
      this._send({ type: "ice", candidate: candidate ? candidateJson(candidate) : null, gen: this.gen });
    });
    this.pc.addEventListener("connectionstatechange", () => this._onConnectionState());
    this.pc.addEventListener("track", ({ track, streams }) => this._emit("track", { track, streams }));
    this._armHardReset();
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _count(name) {
    this.counters[name] = (this.counters[name] || 0) + 1;
  }

  _setState(state) {
    if (this.state === state || this.state === "closed") return;
    this.state = state;
    this._emit("state", { state });
  }

  get closed() {
    return this.state === "closed";
  }

  async _negotiate() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this._count("offersSent");
      this._send({ type: "offer", sdp: this.pc.localDescription.sdp, gen: this.gen });
    } catch (err) {
      console.warn("live: could not make an offer", err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Handles an offer / answer / ice message of this link's gen (the caller checked gen), one
   * at a time and in arrival order, so a candidate never overtakes the description before it. */
  handle(msg) {
    this._inbox = (this._inbox || Promise.resolve()).then(() => this._handle(msg));
    return this._inbox;
  }

  async _handle(msg) {
    if (this.closed) return;
    try {
      if (msg.type === "offer" || msg.type === "answer") await this._onDescription({ type: msg.type, sdp: msg.sdp });
      else if (msg.type === "ice" && msg.candidate) await this._onCandidate(msg.candidate);
    } catch (err) {
      console.warn(`live: ${msg.type} failed`, err);
    }
  }

  async _onDescription(description) {
    const collision = description.type === "offer" && (this.makingOffer || this.pc.signalingState !== "stable");
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    await this.pc.setRemoteDescription(description); // the polite side rolls back implicitly
    for (const c of this._pendingIce.splice(0)) await this.pc.addIceCandidate(c).catch(() => {});
    if (description.type === "offer") {
      await this.pc.setLocalDescription();
      this._send({ type: "answer", sdp: this.pc.localDescription.sdp, gen: this.gen });
    }
  }

  async _onCandidate(candidate) {
    if (!this.pc.remoteDescription) {
      this._pendingIce.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      if (!this.ignoreOffer) throw err;
    }
  }

  _onConnectionState() {
    const s = this.pc.connectionState;
    if (this.closed || s === "closed") return;
    if (s === "connected") {
      this._clearTimers();
      if (!this.everConnected) this._count("connects");
      this.everConnected = true;
      this._setState("connected");
      return;
    }
    if (this.everConnected) this._setState("reconnecting");
    if (s === "failed") this.restartIce("failed");
    else if (s === "disconnected") this._watchDisconnected();
    this._armHardReset();
  }

  async _watchDisconnected() {
    if (this._graceTimer) return;
    this._graceTimer = -1; // taken: a second state change while getStats runs must not start another
    const before = await bytesReceived(this.pc);
    if (this._graceTimer !== -1) return; // connected (or closed) meanwhile
    this._graceTimer = setTimeout(async () => {
      this._graceTimer = null;
      if (this.closed || this.pc.connectionState !== "disconnected") return;
      const after = await bytesReceived(this.pc);
      if (after === before) this.restartIce("bytes stopped");
      else this._watchDisconnected(); // still flowing a little: look again later
    }, DISCONNECTED_GRACE_MS);
  }

  _armHardReset(fresh = false) {
    if (this._hardTimer && !fresh) return;
    clearTimeout(this._hardTimer);
    this._hardTimer = setTimeout(() => {
      this._hardTimer = null;
      if (!this.closed && this.pc.connectionState !== "connected") this.hardReset(`not connected within ${CONNECT_TIMEOUT_MS / 1000} s`);
    }, CONNECT_TIMEOUT_MS);
  }

  _clearTimers() {
    clearTimeout(this._graceTimer);
    clearTimeout(this._hardTimer);
    this._graceTimer = null;
    this._hardTimer = null;
  }

  /** The ICE-restart rung (also a test hook). `negotiationneeded` sends the new offer. */
  restartIce(reason = "asked") {
    if (this.closed) return false;
    if (this.ladder.skipIceRestart) {
      this._count("iceRestartsSkipped");
      return false;
    }
    this.iceRestarts += 1;
    this._count("iceRestarts");
    console.info(`live: ICE restart (${reason})`, this.label);
    this.pc.restartIce();
    this._armHardReset(true);
    return true;
  }

  /** The last rung (also a test hook): closes this link and asks the owner for a new one. */
  hardReset(reason = "asked") {
    if (this.closed) return;
    this._count("hardResets");
    console.info(`live: hard reset (${reason})`, this.label);
    this.close();
    this._emit("hard-reset", { reason });
  }

  /** Bytes received so far (tests: frames flow again). */
  bytesReceived() {
    return bytesReceived(this.pc);
  }

  close() {
    if (this.closed) return;
    this._clearTimers();
    this.state = "closed";
    this.pc.close();
    this._emit("state", { state: "closed" });
  }
}
