// The exam's countdown: shows the time left, announces 5 and 1 minute left, and calls
// onZero() once at 0. Returns a function that stops it.
import { $, announce } from "/static/lib/dom.js";
import { fmtCountdown } from "/static/lib/format.js";

export function startCountdown(remainingSeconds, onZero) {
  const endAt = performance.now() + remainingSeconds * 1000;
  const spoken = new Set();
  let timer = null;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  const tick = () => {
    const left = Math.max(0, Math.ceil((endAt - performance.now()) / 1000));
    const node = $("timer");
    node.textContent = fmtCountdown(left);
    node.classList.toggle("low", left <= 60);
    for (const mark of [300, 60]) {
      if (left <= mark && left > mark - 5 && !spoken.has(mark)) {
        spoken.add(mark);
        announce(`${mark / 60} minute${mark === 60 ? "" : "s"} left`);
      }
    }
    if (left === 0) {
      stop();
      announce("Time is up. Submitting your answers.");
      onZero();
    }
  };
  tick();
  timer = setInterval(tick, 500);
  return stop;
}
