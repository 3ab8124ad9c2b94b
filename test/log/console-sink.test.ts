import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pausingSink } from "../../src/log/console-sink";

/** A stream that accepts `room` lines and then asks for a pause until `drain()`. */
class FakeStream extends EventEmitter {
  written: string[] = [];
  constructor(private room: number) {
    super();
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return this.written.length < this.room;
  }
  drain(room: number): void {
    this.room = this.written.length + room;
    this.emit("drain");
  }
}

describe("pausingSink", () => {
  test("writes until the stream asks for a pause, drops lines until it drains, then reports how many", () => {
    const stream = new FakeStream(3);
    const resumed: number[] = [];
    const sink = pausingSink(stream, (n) => resumed.push(n));
    for (let i = 0; i < 10; i++) sink(`line ${i}`);
    // The third write answered false: it is buffered by the stream, what follows is dropped.
    expect(stream.written).toEqual(["line 0\n", "line 1\n", "line 2\n"]);
    expect(resumed).toEqual([]);
    stream.drain(100);
    expect(resumed).toEqual([7]);
    sink("line 10");
    expect(stream.written.at(-1)).toBe("line 10\n");
    expect(sink.takeDropped()).toBe(0);
  });

  test("a drain with nothing dropped reports nothing; takeDropped hands over the count once", () => {
    const stream = new FakeStream(1);
    const resumed: number[] = [];
    const sink = pausingSink(stream, (n) => resumed.push(n));
    sink("a"); // fills it
    stream.drain(1);
    expect(resumed).toEqual([]);
    sink("b"); // fills it again
    sink("c");
    sink("d");
    expect(sink.takeDropped()).toBe(2);
    expect(sink.takeDropped()).toBe(0);
    stream.drain(10);
    expect(resumed).toEqual([]);
  });
});

test("a logger whose stdout reader stalls drops console lines (bounded memory), keeps them all in its file, and says so", async () => {
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-sink-"));
  try {
    const count = 40_000; // about 10 MB of lines: far more than a pipe holds
    const fixture = join(import.meta.dir, "fixtures", "flood.ts");
    const reader = `(sleep 1; wc -c)`; // reads nothing for a second, then everything
    const proc = Bun.spawn(["sh", "-c", `"${process.execPath}" "${fixture}" "${dir}" ${count} | ${reader}`], { stdout: "pipe", stderr: "pipe" });
    const [status, out, err] = [await proc.exited, await new Response(proc.stdout).text(), await new Response(proc.stderr).text()];
    expect(err).toBe("");
    expect(status).toBe(0);
    const file = readFileSync(join(dir, "taskmgr.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(file.filter((l) => l.event === "flood")).toHaveLength(count);
    const notices = file.filter((l) => l.event === "stdout_lines_dropped");
    expect(notices.length).toBeGreaterThan(0);
    const dropped = notices.reduce((sum, l) => sum + (l.count as number), 0);
    expect(dropped).toBeGreaterThan(count / 2);
    // What reached stdout is the lines not dropped, the notices and the last line.
    const bytesOut = Number(out.trim());
    expect(bytesOut).toBeLessThan((count - dropped + notices.length + 1) * 400);
    expect(file.at(-1)?.event).toBe("after_flood");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
