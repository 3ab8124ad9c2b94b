/** The part of a writable stream the sink uses (`process.stdout`). */
export interface PausableStream {
  write(chunk: string): boolean;
  once(event: "drain", listener: () => void): unknown;
}

/** A line sink that drops lines while its stream's reader is not keeping up. */
export interface ConsoleSink {
  (line: string): void;
  /** Lines dropped since the last report, and resets the count. */
  takeDropped(): number;
}

/**
 * Writes lines to `stream` until it asks for a pause (`write` answers false: its reader, such as a
 * `serve | …` pipe nobody reads, is not keeping up), then drops them until it drains, so that a
 * stalled reader cannot make the process buffer every line it did not take. `onResume` is called
 * with the number of lines dropped once the stream drains; the log file keeps them all.
 */
export function pausingSink(stream: PausableStream, onResume: (dropped: number) => void): ConsoleSink {
  let paused = false;
  let dropped = 0;
  const takeDropped = () => {
    const n = dropped;
    dropped = 0;
    return n;
  };
  const sink = (line: string) => {
    if (paused) {
      dropped++;
      return;
    }
    if (stream.write(line + "\n")) return;
    paused = true;
    stream.once("drain", () => {
      paused = false;
      const n = takeDropped();
      if (n > 0) onResume(n);
    });
  };
  return Object.assign(sink, { takeDropped });
}
