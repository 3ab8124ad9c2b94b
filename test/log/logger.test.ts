import { describe, expect, test } from "bun:test";
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
});
