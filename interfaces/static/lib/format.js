// Time and count formatting shared by the pages (the browser's locale, local time zone).
export function fmtTime(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "—";
}

export function fmtDateTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

// "12 s ago", "3 min ago", then the clock time.
export function timeAgo(iso) {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return fmtTime(iso);
}

// A countdown: "9:05", "1:02:03".
export function fmtCountdown(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0");
  return `${h ? h + ":" : ""}${mm}:${String(s).padStart(2, "0")}`;
}

// A duration in whole minutes ("15 min"), or seconds below one minute.
export function fmtMinutes(seconds) {
  const m = Math.round(seconds / 60);
  return m >= 1 ? `${m} min` : `${seconds} s`;
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
