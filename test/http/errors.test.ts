/** The one error mapping (src/http/errors.ts): failures the server causes are 500, never blamed on the request. */
import { expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { errorHandler } from "../../src/http/errors";
import { createLogger } from "../../src/log/logger";

test("an answer that does not fit its own schema is a 500 (logged), not a 422 naming the response", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "error", console: (line) => lines.push(line) });
  const app = new Elysia().use(errorHandler(log)).get("/api/thing", () => ({ n: "not a number" }) as unknown as { n: number }, { response: { 200: t.Object({ n: t.Number() }) } });
  const res = await app.handle(new Request("http://localhost/api/thing"));
  expect(res.status).toBe(500);
  expect(await res.json()).toEqual({ error: { code: "internal", message: "internal server error", details: {} } });
  expect(lines.some((l) => JSON.parse(l).event === "request_failed")).toBe(true);
  await log.close();
});

test("the request log names the member an admin-only route refused (403), as it names every authenticated caller", async () => {
  const { createTestApp } = await import("../support/app");
  const { createTestDatabase } = await import("../support/db");
  const { db, drop } = await createTestDatabase("sqlite");
  const lines: string[] = [];
  const log = createLogger({ level: "info", console: (line) => lines.push(line) });
  try {
    const t = await createTestApp(db, { log });
    const member = await t.createUser();
    expect((await t.request("GET", "/api/metrics", { token: member.token })).status).toBe(403);
    await Bun.sleep(20); // the request line is written after the answer
    const logged = lines.map((l) => JSON.parse(l)).find((e) => e.event === "request" && e.path === "/api/metrics");
    expect(logged).toMatchObject({ status: 403, user_id: member.user.id, org_id: member.org.id });
  } finally {
    await log.close();
    await drop();
  }
});
