/**
 * Found by QA (disk full, SQLite, LOG_DIR on the same small disk): once a write to `taskmgr.log`
 * failed with ENOSPC, the rotating stream was ended for good and every later line was dropped
 * without a word, long after the disk had room again, until the server restarted; the line cut off
 * by the failure was glued to the next one. Now a new stream is opened, the cut line is ended, and a
 * `log_file_lines_dropped` line says how many lines the file lost.
 *
 * The first test uses a real full disk: a small tmpfs, mounted only where this process may (root);
 * skipped with a line otherwise. The others fail the stream by hand and run anywhere.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileSink, REOPEN_AFTER_MS } from "../../src/log/file-sink";
import { createLogger } from "../../src/log/logger";

/** The log file's lines: the parsed ones, and those that are not JSON. */
function readLines(path: string) {
  const raw = readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
  const parsed: Record<string, unknown>[] = [];
  const broken: string[] = [];
  for (const l of raw) {
    try {
      parsed.push(JSON.parse(l));
    } catch {
      broken.push(l);
    }
  }
  return { parsed, broken };
}

const mountPoint = mkdtempSync(join(tmpdir(), "taskmgr-logfull-"));
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint]).status === 0;
if (!mounted) console.log("disk-full.test.ts: cannot mount a tmpfs here (not root?): the test on a real full disk is skipped");
afterAll(() => {
  if (mounted) spawnSync("umount", [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

test.skipIf(!mounted)(
  "a real full disk: the log file takes lines again once there is room, without a restart, and says how many it lost",
  async () => {
    const dir = join(mountPoint, "logs");
    const log = createLogger({ level: "info", dir, console: null });
    log.info("before", {});
    await Bun.sleep(50);
    const filler = join(mountPoint, "filler");
    spawnSync("sh", ["-c", `dd if=/dev/zero of=${filler} bs=1k 2>/dev/null`]);
    // Lines go on until the file has stopped growing under 20 of them in a row: its writes fail
    // (however slow the machine, the disk is freed only once they do).
    const file = join(dir, "taskmgr.log");
    let still = 0;
    for (let i = 0, size = statSync(file).size; i < 1_000 && still < 20; i++) {
      log.info("while_full", { i, pad: "x".repeat(200) });
      await Bun.sleep(10);
      const now = statSync(file).size;
      still = now === size ? still + 1 : 0;
      size = now;
    }
    expect(still).toBe(20);
    rmSync(filler);
    await Bun.sleep(REOPEN_AFTER_MS + 100);
    log.info("after", { n: 1 });
    log.info("after", { n: 2 });
    await log.close();
    const { parsed, broken } = readLines(join(dir, "taskmgr.log"));
    const events = parsed.map((l) => l.event);
    expect(events.slice(-3)).toEqual(["after", "log_file_lines_dropped", "after"]);
    const dropped = parsed.find((l) => l.event === "log_file_lines_dropped")!;
    expect(dropped.count).toBeGreaterThan(0);
    expect(dropped.error).toContain("ENOSPC");
    expect(broken.length).toBeLessThanOrEqual(1); // the line the failure cut off, on a line of its own
  },
  REOPEN_AFTER_MS + 10_000,
);

/** A stream writing to `path` that fails (ENOSPC) while `full.on`, after writing half of the chunk, as a disk does. */
function fakeDisk(path: string, full: { on: boolean }) {
  let opened = 0;
  const open = () => {
    opened++;
    return new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (!full.on) {
          writeFileSync(path, chunk, { flag: "a" });
          return cb();
        }
        writeFileSync(path, chunk.subarray(0, chunk.length >> 1), { flag: "a" });
        cb(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
      },
    });
  };
  return { open, opened: () => opened };
}

describe("the log file's sink after a failed write", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "taskmgr-filesink-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("lines are dropped and counted while it fails; a new stream is opened only after REOPEN_AFTER_MS; the cut line is ended", async () => {
    const path = join(dir, "a.log");
    mkdirSync(dir, { recursive: true });
    const full = { on: false };
    const disk = fakeDisk(path, full);
    let t = 0;
    const reports: [number, string][] = [];
    const sink = fileSink(path, disk.open, (n, e) => reports.push([n, e]), () => t);
    sink('{"n":1}');
    await Bun.sleep(5);
    full.on = true;
    sink('{"n":2}');
    await Bun.sleep(5);
    sink('{"n":3}');
    full.on = false;
    t += REOPEN_AFTER_MS - 1;
    sink('{"n":4}'); // too soon: dropped
    expect(disk.opened()).toBe(1);
    t += 1;
    sink('{"n":5}');
    await Bun.sleep(5);
    expect(disk.opened()).toBe(2);
    expect(reports).toEqual([[3, "ENOSPC: no space left on device, write"]]);
    await sink.close();
    const { parsed, broken } = readLines(path);
    expect(parsed).toEqual([{ n: 1 }, { n: 5 }]);
    expect(broken).toEqual(['{"n"']);
  });

  test("close resolves when the stream fails while it ends", async () => {
    const path = join(dir, "b.log");
    const full = { on: true };
    const sink = fileSink(path, fakeDisk(path, full).open, () => {});
    sink('{"n":1}');
    await sink.close();
  });
});

describe("the count of lines the log file lost", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "taskmgr-filesink-count-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a reopen on a disk still full does not reset it: the report that reaches the file counts every line lost since the first failure", async () => {
    const path = join(dir, "c.log");
    const full = { on: false };
    const disk = fakeDisk(path, full);
    let t = 0;
    // As the logger does: the report is a line of its own, written through the sink.
    const sink = fileSink(path, disk.open, (count) => sink(JSON.stringify({ report: count })), () => t);
    sink('{"n":1}');
    await Bun.sleep(5);
    full.on = true;
    sink('{"n":2}'); // fails, cut off
    await Bun.sleep(5);
    sink('{"n":3}'); // dropped
    t += REOPEN_AFTER_MS;
    sink('{"n":4}'); // reopens on a disk still full: it and its report fail
    await Bun.sleep(5);
    sink('{"n":5}'); // dropped
    full.on = false;
    t += REOPEN_AFTER_MS;
    sink('{"n":6}'); // reopens with room
    await Bun.sleep(5);
    expect(disk.opened()).toBe(3);
    await sink.close();
    const { parsed } = readLines(path);
    expect(parsed.filter((l) => "n" in l)).toEqual([{ n: 1 }, { n: 6 }]);
    // Lost from the file: lines 2 to 5, and the first report.
    expect(parsed.filter((l) => "report" in l)).toEqual([{ report: 5 }]);
  });
});
