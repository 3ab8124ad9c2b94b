import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/log/logger";

/** A logger whose console lines are parsed into `lines`. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: "info", console: (line) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe("logger redaction", () => {
  test("values of secret-looking fields are redacted, whatever their shape but plain values", () => {
    const { log, lines } = capture();
    log.info("e", { password: "hunter22", refresh: "r.t", access_token: { nested: "x" }, authorization: ["Bearer x"], user_id: "u1" });
    expect(lines[0]).toMatchObject({ password: "[redacted]", refresh: "[redacted]", access_token: "[redacted]", authorization: "[redacted]", user_id: "u1" });
  });

  test("counts, flags and nulls under such names are kept: cleanup-sync-logs logs refresh_token_rows", () => {
    const { log, lines } = capture();
    log.info("job_finished", { job: "cleanup-sync-logs", sync_log_rows: 3, refresh_token_rows: 7, token_reused: false, refresh_family: null });
    expect(lines[0]).toMatchObject({ sync_log_rows: 3, refresh_token_rows: 7, token_reused: false, refresh_family: null });
  });

  test("secret-looking fields are redacted inside objects and arrays too, not only at the top of the line", () => {
    const { log, lines } = capture();
    log.info("e", { request: { method: "POST", headers: { Authorization: "Bearer abc.def", "x-id": "r1" } }, devices: [{ id: "d1", refresh_token: "r.t" }], jobs: [{ job: "j", batches: 2 }] });
    expect(lines[0]).toMatchObject({
      request: { method: "POST", headers: { Authorization: "[redacted]", "x-id": "r1" } },
      devices: [{ id: "d1", refresh_token: "[redacted]" }],
      jobs: [{ job: "j", batches: 2 }],
    });
    expect(JSON.stringify(lines[0])).not.toContain("abc.def");
  });
});

// Found by security review: the log file was opened following a symbolic link in its place, so that
// whoever could put one in LOG_DIR (a shared folder such as /tmp, whose sticky bit still lets anyone
// create a name there first) had the server, often root, append its lines to a file of their choosing.
describe("logger line", () => {
  test("a field named time, level or event never replaces the line's own, which come first", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", console: (line) => lines.push(line) });
    log.warn("job_failed", { time: "yesterday", level: "debug", event: "other", job: "cleanup" });
    const parsed = JSON.parse(lines[0]!);
    expect({ level: parsed.level, event: parsed.event, job: parsed.job }).toEqual({ level: "warn", event: "job_failed", job: "cleanup" });
    expect(Date.parse(parsed.time)).toBeGreaterThan(Date.parse("2020-01-01"));
    expect(Object.keys(parsed).slice(0, 3)).toEqual(["time", "level", "event"]);
  });
});

describe("logger file", () => {
  test("a symbolic link in place of taskmgr.log is refused, and its target is not written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "taskmgr-log-link-"));
    try {
      const target = join(dir, "someone-elses-file");
      writeFileSync(target, "untouched\n", { mode: 0o600 });
      symlinkSync(target, join(dir, "taskmgr.log"));
      expect(() => createLogger({ level: "info", dir, console: null })).toThrow(/taskmgr\.log is a symbolic link/);
      expect(readFileSync(target, "utf8")).toBe("untouched\n");
      // A dangling link (a name taken before the file exists) is refused alike, and creates nothing.
      rmSync(target);
      expect(() => createLogger({ level: "info", dir, console: null })).toThrow(/taskmgr\.log is a symbolic link/);
      expect(existsSync(target)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a LOG_DIR reached through a symbolic link is fine (only taskmgr.log itself must be a file)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "taskmgr-log-dirlink-"));
    try {
      mkdirSync(join(dir, "real"));
      symlinkSync(join(dir, "real"), join(dir, "logs"));
      const log = createLogger({ level: "info", dir: join(dir, "logs"), console: null });
      log.info("hello");
      await log.close();
      expect(readFileSync(join(dir, "real", "taskmgr.log"), "utf8")).toContain('"event":"hello"');
      expect(statSync(join(dir, "real", "taskmgr.log")).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
