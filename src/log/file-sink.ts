import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";

/** The part of the log file's stream (rotating-file-stream's) the sink uses. */
export interface LogFileStream {
  write(chunk: string, callback: (err?: Error | null) => void): boolean;
  on(event: "error", listener: (err: Error) => void): unknown;
  end(callback: () => void): unknown;
}

/** A line sink writing to the log file. */
export interface FileSink {
  (line: string): void;
  /** Ends the stream once its lines are written (or at once when it failed). */
  close(): Promise<void>;
}

/** After a write to the log file failed, a new stream is opened for the first line at least this long after. */
export const REOPEN_AFTER_MS = 5_000;

/**
 * Writes lines to the log file `path` through a stream from `open`, and outlives a failed write.
 * A write that fails (ENOSPC: the disk is full) ends a Node stream for good: every later line was
 * dropped, without a word, until the server restarted, long after the disk had room again. Here the
 * failed stream is left, the lines that could not be written are counted, and the first line at
 * least {@link REOPEN_AFTER_MS} after the failure opens a new stream; that line is written, then
 * `onReopen` is called with the count (at most: a failed write of several lines may have written
 * some) and the failure, which the logger writes as a line of its own. The count goes on from there
 * until that report is in the file: a reopen on a disk still full (its lines and report fail too)
 * leaves it for the next one, which then counts every line lost since the first failure. A line the
 * failure cut off is ended first, so that the lines after it stay one to a line.
 */
export function fileSink(path: string, open: () => LogFileStream, onReopen: (dropped: number, error: string) => void, now: () => number = Date.now): FileSink {
  let stream: LogFileStream | null = null;
  let failedAt: number | null = null;
  let failure = "";
  /** Lines the file lacks since the last report that reached it. */
  let dropped = 0;
  /** The count `onReopen` is reporting while it runs: the next line written is its report. */
  let reporting: number | null = null;
  /** Resolves `close` when the stream being ended fails instead. */
  let ended: (() => void) | null = null;

  const start = (): LogFileStream | null => {
    try {
      const s = open();
      s.on("error", (err) => {
        fail(s, err);
        ended?.();
      });
      return s;
    } catch (err) {
      fail(null, err);
      return null;
    }
  };
  const fail = (s: LogFileStream | null, err: unknown) => {
    if (s !== null && s !== stream) return; // a stream already left
    stream = null;
    failedAt = now();
    failure = err instanceof Error ? err.message : String(err);
  };
  /** A new stream after a failure, or false when it failed too. */
  const reopen = (): boolean => {
    endCutLine(path);
    const s = start();
    if (s === null) return false;
    stream = s;
    failedAt = null;
    return true;
  };

  stream = start();
  const writeLine = (line: string) => {
    const s = stream!;
    const reports = reporting; // written, this line is a report of that many: they are no longer owed
    reporting = null;
    s.write(line + "\n", (err) => {
      if (!err) {
        if (reports !== null) dropped -= reports;
        return;
      }
      dropped++;
      fail(s, err);
    });
  };
  const sink = (line: string) => {
    if (stream !== null) return writeLine(line);
    if (failedAt === null || now() - failedAt < REOPEN_AFTER_MS || !reopen()) {
      dropped++;
      return;
    }
    writeLine(line);
    reporting = dropped;
    try {
      onReopen(dropped, failure);
    } finally {
      reporting = null;
    }
  };
  const close = () =>
    new Promise<void>((done) => {
      const s = stream;
      stream = null;
      failedAt = null; // closed: no line reopens it
      if (s === null) return done();
      ended = done;
      s.end(() => done());
    });
  return Object.assign(sink, { close });
}

/** Ends with a line break the file's last line when a failed write left it cut off (best effort). */
function endCutLine(path: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(path, "r+");
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] !== 0x0a) writeSync(fd, "\n", size);
  } catch {
    // No file, or still no room: the new stream's lines follow as they can.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
