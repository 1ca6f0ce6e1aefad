// The recording's outbox: video chunks wait here (IndexedDB, so they survive a reload, a crash
// or a closed tab) until the server has acknowledged them. Plus the per-attempt segment counter,
// so every recorder session gets a new segment number, across reloads.
//
// const outbox = await openOutbox();
//   put(chunk)                      chunk: {attemptId, segment, seq, blob, sha256, mime, size,
//                                   startedAt, recordedAt, final}; committed durably before it resolves
//   pending(attemptId) -> chunks    ordered by (segment, seq)
//   keys(attemptId) -> [[attemptId, segment, seq], …]   the same order, without reading chunks
//   get(attemptId, segment, seq) -> chunk | undefined
//   count(attemptId) -> n
//   delete(attemptId, segment, seq) after the server acknowledged it
//   clear(attemptId)                every chunk of the attempt (the server closed the recording)
//   nextSegment(attemptId) -> K     0, 1, 2, … for the attempt; atomic, persisted
//   close()
export const DB_NAME = "smart-exam-recording";
const DB_VERSION = 1;
const CHUNKS = "chunks";
const SEGMENTS = "segments";

const done = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

const committed = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error || new DOMException("transaction aborted", "AbortError"));
});

// Every chunk key of one attempt: [attemptId, segment, seq] with numbers in between.
const ofAttempt = (attemptId) => IDBKeyRange.bound([attemptId, -Infinity, -Infinity], [attemptId, Infinity, Infinity]);

export function openOutbox({ name = DB_NAME } = {}) {
  const request = indexedDB.open(name, DB_VERSION);
  request.onupgradeneeded = () => {
    const db = request.result;
    if (!db.objectStoreNames.contains(CHUNKS)) db.createObjectStore(CHUNKS, { keyPath: ["attemptId", "segment", "seq"] });
    if (!db.objectStoreNames.contains(SEGMENTS)) db.createObjectStore(SEGMENTS, { keyPath: "attemptId" });
  };
  return done(request).then((db) => new Outbox(db));
}

export class Outbox {
  constructor(db) {
    this.db = db;
    // Another tab upgrading the schema: let it, this page reopens on its next reload.
    db.onversionchange = () => db.close();
  }

  // "strict": the chunk is on disk when put() resolves (the relaxed default may lose it in a crash).
  _tx(stores, mode) {
    return this.db.transaction(stores, mode, mode === "readwrite" ? { durability: "strict" } : undefined);
  }

  async put(chunk) {
    const tx = this._tx([CHUNKS], "readwrite");
    tx.objectStore(CHUNKS).put(chunk);
    await committed(tx);
  }

  pending(attemptId) {
    return done(this._tx([CHUNKS], "readonly").objectStore(CHUNKS).getAll(ofAttempt(attemptId)));
  }

  keys(attemptId) {
    return done(this._tx([CHUNKS], "readonly").objectStore(CHUNKS).getAllKeys(ofAttempt(attemptId)));
  }

  get(attemptId, segment, seq) {
    return done(this._tx([CHUNKS], "readonly").objectStore(CHUNKS).get([attemptId, segment, seq]));
  }

  count(attemptId) {
    return done(this._tx([CHUNKS], "readonly").objectStore(CHUNKS).count(ofAttempt(attemptId)));
  }

  async delete(attemptId, segment, seq) {
    const tx = this._tx([CHUNKS], "readwrite");
    tx.objectStore(CHUNKS).delete([attemptId, segment, seq]);
    await committed(tx);
  }

  async clear(attemptId) {
    const tx = this._tx([CHUNKS], "readwrite");
    tx.objectStore(CHUNKS).delete(ofAttempt(attemptId));
    await committed(tx);
  }

  // Read and bump in one transaction, so two tabs (or a fast reload) never share a segment.
  async nextSegment(attemptId) {
    const tx = this._tx([SEGMENTS], "readwrite");
    const store = tx.objectStore(SEGMENTS);
    const row = await done(store.get(attemptId));
    const segment = row ? row.last + 1 : 0;
    store.put({ attemptId, last: segment });
    await committed(tx);
    return segment;
  }

  close() {
    this.db.close();
  }
}
