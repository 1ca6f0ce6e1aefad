// The Attempt Video Page's model: the recording API's JSON mapped in ONE place (toRecording),
// and the segment map that turns a wall-clock moment into a time in the joined video.
//
// GET /api/Proctor/recording/{attemptId} -> {status, durationSeconds, sizeBytes, videoUrl,
//   gaps: [{start, end, reason, …}], segments: [{segment, wallClockStart, videoOffsetSeconds,
//   durationSeconds}], retentionDays, deleteAfter, failureReason}
export const STATUSES = ["None", "Recording", "Processing", "Ready", "Failed", "Deleted"];

const pick = (raw, ...names) => names.map((n) => raw?.[n]).find((v) => v !== undefined && v !== null);
const number = (value) => (value === undefined || value === null || value === "" ? null : Number(value));
const millis = (iso) => (iso ? Date.parse(iso) : NaN);

export function toRecording(raw) {
  const segments = (pick(raw, "segments", "segmentMap") || []).map((s) => ({
    segment: Number(s.segment),
    start: millis(pick(s, "wallClockStart", "wall_clock_start")),
    offset: number(pick(s, "videoOffsetSeconds", "video_offset_seconds")) ?? 0,
    duration: number(pick(s, "durationSeconds", "duration_seconds")) ?? 0,
  })).filter((s) => Number.isFinite(s.start)).sort((a, b) => a.offset - b.offset);
  const gaps = (raw?.gaps || []).map((g) => ({
    start: millis(g.start), end: millis(g.end), reason: g.reason || "", segment: g.segment ?? null,
  })).filter((g) => Number.isFinite(g.start) && Number.isFinite(g.end)).sort((a, b) => a.start - b.start);
  const status = pick(raw, "status") || "None";
  return {
    status: STATUSES.includes(status) ? status : String(status),
    durationSeconds: number(pick(raw, "durationSeconds", "duration_seconds")),
    sizeBytes: number(pick(raw, "sizeBytes", "size_bytes")),
    videoUrl: pick(raw, "videoUrl", "video_url") || null,
    gaps,
    segments,
    retentionDays: number(pick(raw, "retentionDays", "retention_days")),
    deleteAfter: pick(raw, "deleteAfter", "delete_after") || null,
    failureReason: pick(raw, "failureReason", "failure_reason") || null,
  };
}

// Seconds of gap inside [from, to) (ms): a stretch without video inside a segment's wall time.
function gapSecondsBetween(gaps, from, to) {
  let total = 0;
  for (const g of gaps) total += Math.max(0, Math.min(g.end, to) - Math.max(g.start, from));
  return total / 1000;
}

// The time in the joined video that shows wall-clock moment `at` (ms or ISO): inside a segment,
// its offset plus the time since the segment began less the gaps before it; in a gap (or a
// part of a segment that was lost), where the video goes on afterwards; before the recording,
// 0; after it, the end. null without a segment map.
export function videoTimeAt(recording, at) {
  const t = typeof at === "number" ? at : millis(at);
  const { segments, gaps } = recording;
  if (!segments.length || !Number.isFinite(t)) return null;
  const segment = [...segments].reverse().find((s) => s.start <= t);
  if (!segment) return 0;
  const into = (t - segment.start) / 1000 - gapSecondsBetween(gaps, segment.start, t);
  const time = segment.offset + Math.min(Math.max(into, 0), segment.duration);
  const total = recording.durationSeconds ?? Infinity;
  return Math.round(Math.min(time, total) * 1000) / 1000;
}

// Where a timeline item seeks to: a gap item to the video right after the gap (the next
// segment's start for a reload), anything else to its own moment.
export function seekTimeFor(recording, item) {
  if (item.kind === "recording_gap") {
    const at = millis(item.at);
    const gap = recording.gaps.find((g) => Math.abs(g.start - at) < 5);
    if (gap) return videoTimeAt(recording, gap.end);
  }
  return videoTimeAt(recording, item.at);
}

// "1:05" / "1:02:03" for a position in the video.
export function videoClock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? h + ":" : ""}${mm}:${String(s % 60).padStart(2, "0")}`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}
