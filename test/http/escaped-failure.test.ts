/**
 * A failure that escapes the app (none should: the app answers each itself) is still answered with
 * the contract's 500 body by the server's last resort, and logged: `request_failed` with its message
 * and stack, so that the defect can be found.
 */
import { afterAll, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { type RunningServer, startServer } from "../../src/server";
import { createTestApp } from "../support/app";
import { memoryLogger } from "../support/log";

let server: RunningServer | undefined;
afterAll(() => server?.stop(true));

test("a failure that escapes the app: 500 with the contract's body, logged with its message and stack", async () => {
  const db = openDatabase("sqlite::memory:");
  await migrate(db);
  const t = await createTestApp(db);
  const { log, lines } = memoryLogger();
  const app = createApp(t.services, t.deps);
  server = startServer(app, { host: "127.0.0.1", port: 0, log });
  // Replaced after the start (which compiles the app): the server calls it at each request.
  Object.defineProperty(app, "fetch", {
    value: () => {
      throw new Error("escaped the app");
    },
  });
  const res = await fetch(`${server.url}/api/health`);
  expect(res.status).toBe(500);
  expect(await res.json()).toMatchObject({ error: { code: "internal", message: "internal server error" } });
  const logged = lines.find((l) => l.event === "request_failed");
  expect(logged).toMatchObject({ level: "error", error: "escaped the app", escaped_app: true });
  expect(String(logged?.stack)).toContain("escaped-failure.test.ts");
});
