// The one retry policy: exponential backoff with jitter, and waits that end early when the
// browser comes back online. Used by the SSE streams and the upload queues.
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ±15 % around `ms`: spreads fixed retry delays so many pages do not retry in lockstep.
export const jitter = (ms) => Math.round(ms * (0.85 + Math.random() * 0.3));

// The delay before retry number `attempt` (1, 2, …): base·2^attempt capped at capMs, then a
// random point in its upper half ("equal jitter"), so the wait never collapses to zero.
export function backoffDelay(attempt, { baseMs = 1000, capMs = 30000, maxExponent = 5 } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), maxExponent));
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

// Resolves after `ms`, or at once when the browser fires `online`, or when `signal` aborts.
// Resolves to "online", "timeout" or "aborted".
export function waitOrOnline(ms, signal = null) {
  return new Promise((resolve) => {
    const done = (why) => {
      clearTimeout(timer);
      window.removeEventListener("online", onOnline);
      signal?.removeEventListener("abort", onAbort);
      resolve(why);
    };
    const onOnline = () => done("online");
    const onAbort = () => done("aborted");
    const timer = setTimeout(() => done("timeout"), ms);
    window.addEventListener("online", onOnline);
    if (signal?.aborted) done("aborted");
    else signal?.addEventListener("abort", onAbort);
  });
}
