"""In-page scripts for test_recording_client.py: they import the recording modules the product
serves (/static/lib/recording/*.js) into an existing page and drive them with the fake camera.

Chunks come back as {segment, seq, sha256, mime, size, final, b64} (b64: the stored bytes)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

_READ_OUTBOX = """
async function readOutbox(outbox, attemptId) {
  const out = [];
  for (const c of await outbox.pending(attemptId)) {
    const bytes = new Uint8Array(await c.blob.arrayBuffer());
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    out.push({ segment: c.segment, seq: c.seq, sha256: c.sha256, mime: c.mime, size: c.size,
      final: c.final, b64: btoa(bin) });
  }
  return out;
}
"""

# Records `chunks` timeslices (plus the last one that stop() flushes) into the outbox.
RECORD = (
    """async ({ attemptId, chunks, chunkSeconds }) => {
  """
    + _READ_OUTBOX
    + """
  const { openOutbox } = await import("/static/lib/recording/outbox.js");
  const { ChunkRecorder } = await import("/static/lib/recording/recorder.js");
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const outbox = await openOutbox();
  const recorder = new ChunkRecorder({ attemptId, outbox, chunkSeconds });
  const events = [];
  const enough = new Promise((resolve) => recorder.addEventListener("chunk", ({ detail }) => {
    events.push(detail);
    if (events.length >= chunks) resolve();
  }));
  const segment = await recorder.start(stream);
  await enough;
  await recorder.stop();
  stream.getTracks().forEach((t) => t.stop());
  const stored = await readOutbox(outbox, attemptId);
  outbox.close();
  return { segment, mimeType: recorder.mimeType, state: recorder.state, events, stored };
}"""
)

LIST = (
    """async ({ attemptId }) => {
  """
    + _READ_OUTBOX
    + """
  const { openOutbox } = await import("/static/lib/recording/outbox.js");
  const outbox = await openOutbox();
  const stored = await readOutbox(outbox, attemptId);
  outbox.close();
  return stored;
}"""
)

# Starts an uploader on the outbox of `attemptId`; its events are collected in window.__uploads.
START_UPLOADER = """async ({ attemptId, baseDelayMs }) => {
  const { openOutbox } = await import("/static/lib/recording/outbox.js");
  const { ChunkUploader } = await import("/static/lib/recording/uploader.js");
  const uploader = new ChunkUploader({ attemptId, outbox: await openOutbox(), baseDelayMs });
  const log = [];
  for (const type of ["acked", "rejected", "retry", "closed", "stopped"]) {
    uploader.addEventListener(type, ({ detail }) => log.push({ type, ...detail }));
  }
  window.__uploads = { uploader, log };
  uploader.start();
  return uploader.state;
}"""

# Waits (bounded) until the queue has nothing left it can send.
DRAINED = """async () => {
  const { uploader, log } = window.__uploads;
  const timedOut = await Promise.race([
    uploader.drained().then(() => false),
    new Promise((resolve) => setTimeout(() => resolve(true), 20000)),
  ]);
  return { timedOut, state: uploader.state, backlog: uploader.backlog, log };
}"""

UPLOADER_STATE = "() => ({ state: window.__uploads.uploader.state, log: window.__uploads.log })"

EBML_MAGIC = bytes.fromhex("1A45DFA3")


def chunk_bytes(chunk: dict[str, Any]) -> bytes:
    return base64.b64decode(chunk["b64"])


def check_segment(chunks: list[dict[str, Any]], segment: int) -> None:
    """One recorder session as the outbox holds it: consecutive seqs from 0, each sha256 right,
    the first chunk a Matroska/WebM header, only the last chunk marked final."""
    mine = [c for c in chunks if c["segment"] == segment]
    assert [c["seq"] for c in mine] == list(range(len(mine))), [(c["segment"], c["seq"]) for c in chunks]
    for c in mine:
        data = chunk_bytes(c)
        assert len(data) == c["size"] > 0
        assert hashlib.sha256(data).hexdigest() == c["sha256"], (c["segment"], c["seq"])
        assert c["mime"].startswith("video/"), c["mime"]
    assert chunk_bytes(mine[0])[:4] == EBML_MAGIC, chunk_bytes(mine[0])[:8].hex()
    assert [c["final"] for c in mine] == [False] * (len(mine) - 1) + [True]

# The composition the exam page will use: ProctoringClient (camera + snapshots) + startRecording.
START_RECORDING = """async ({ attemptId }) => {
  const { ProctoringClient } = await import("/static/lib/proctoring/index.js");
  const { startRecording } = await import("/static/lib/recording/index.js");
  const video = Object.assign(document.createElement("video"), { muted: true, playsInline: true });
  const panel = document.createElement("div");
  document.body.append(video, panel);
  const client = new ProctoringClient({ attemptId, snapshotIntervalSeconds: 600, video });
  const recording = await startRecording({ client, chunkSeconds: 1, indicatorIn: panel });
  const acked = [];
  recording.uploader.addEventListener("acked", ({ detail }) => acked.push(detail));
  window.__rec = { client, recording, acked };
  return client.start();
}"""

STOP_RECORDING = """async () => {
  const { client, recording, acked } = window.__rec;
  const stopped = recording.stop();
  client.stop();
  await stopped;
  return { acked, camera: client.state, recorder: recording.recorder.state,
    backlog: recording.uploader.backlog };
}"""
