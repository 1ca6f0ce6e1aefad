// window.smartExamLive: read-only state plus ladder switches for tests and debugging. Nothing here
// runs unless called; `ladder.skipIceRestart` is read by the ladder only when it reaches that rung.
//
//   smartExamLive.snapshot()          {role, status, signaling, opens, counters, links: [...]}
//   smartExamLive.links               Map peer id -> PeerLink (link.pc is the RTCPeerConnection)
//   smartExamLive.ladder.skipIceRestart = true   the ICE-restart rung does nothing (counts
//                                     iceRestartsSkipped), so the hard-reset rung is exercised
//   smartExamLive.forceIceRestart()   the ICE-restart rung on every link, now
//   smartExamLive.forceHardReset()    the hard-reset rung on every link, now
//   smartExamLive.dropSignaling()     closes the socket as a network error would (it reconnects)

/** @param {{links: Map<string, any>, counters: object, ladder: object, signaling: any, status: string}} owner */
export function exposeLiveHooks(owner, role) {
  const hooks = {
    role,
    owner,
    get links() { return owner.links; },
    get counters() { return owner.counters; },
    get ladder() { return owner.ladder; },
    get signaling() { return owner.signaling; },
    snapshot() {
      return {
        role,
        status: owner.status,
        signaling: owner.signaling.state,
        opens: owner.signaling.opens,
        counters: { ...owner.counters },
        links: [...owner.links.entries()].map(([peer, link]) => ({
          peer,
          gen: link.gen,
          state: link.state,
          connectionState: link.pc.connectionState,
          iceRestarts: link.iceRestarts,
        })),
      };
    },
    forceIceRestart() {
      return [...owner.links.values()].map((link) => link.restartIce("forced by a test hook"));
    },
    forceHardReset() {
      for (const link of [...owner.links.values()]) link.hardReset("forced by a test hook");
    },
    dropSignaling() {
      owner.signaling.drop();
    },
  };
  window.smartExamLive = hooks;
  return hooks;
}
