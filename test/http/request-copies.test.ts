/**
 * Requests the server copies before the app sees them (src/http/origin.ts), over a real socket: a
 * short Host (a reverse proxy's `Host: app`) is routed, its list links keep that host; a chunked body
 * over the limit is refused like a declared one, logged and counted; a copy keeps its client's address.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { createApp } from "../../src/app";
import { LOGIN_FAILURES_ALLOWED } from "../../src/auth/rate-limit";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { type RunningServer, startServer } from "../../src/server";
import { parseTrustedProxies } from "../../src/wire/client-address";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { memoryLogger } from "../support/log";

/** Sends `head` (request line and headers, CRLF-separated, without the blank line) and `body` as they are; the raw answer. */
function raw(port: number, head: string, body = ""): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (d) => (text += d.toString("utf8")));
    socket.on("error", reject);
    socket.on("end", () => {
      const [headers, ...rest] = text.split("\r\n\r\n");
      resolve({ status: Number(headers!.split(" ")[1]), headers: headers!, body: rest.join("\r\n\r\n") });
    });
    // Not half-closed: the server answers, then closes (`connection: close`).
    socket.write(`${head}\r\nconnection: close\r\n\r\n${body}`);
  });
}

/** Elysia runs its after-response hooks (the request log line, the metrics) in a later turn. */
const afterResponseHooks = () => new Promise((done) => setImmediate(done));

const chunked = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n0\r\n\r\n`;

describe("requests the server copies", () => {
  let t: TestApp;
  let server: RunningServer;
  let me: TestUser;
  const { log, lines } = memoryLogger();
  beforeAll(async () => {
    const db = openDatabase("sqlite::memory:");
    await migrate(db);
    t = await createTestApp(db, { log, config: { trustedProxies: parseTrustedProxies("203.0.113.9") } });
    server = startServer(createApp(t.services, t.deps), { host: "127.0.0.1", port: 0 });
    me = await t.createUser();
  });
  afterAll(() => server.stop(true));

  for (const host of ["app", "tm", "x"]) {
    test(`Host: ${host} (shorter than Elysia's router expects) is routed, and list links keep it`, async () => {
      expect((await raw(server.port, `GET /api/health HTTP/1.1\r\nhost: ${host}`)).status).toBe(200);
      for (const name of ["one", "two"]) await t.request("POST", "/api/projects", { token: me.token, body: { name } });
      const page = await raw(server.port, `GET /api/projects?page_size=1 HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${me.token}`);
      expect(page.status).toBe(200);
      expect(JSON.parse(page.body).next).toStartWith(`http://${host}/api/projects?`);
    });
  }

  test("a chunked body over 5 MB with a short Host is refused too (the copy keeps the mark): a DELETE deletes nothing", async () => {
    const p = await t.request("POST", "/api/projects", { token: me.token, body: { name: "kept" } });
    const body = `{"version": 99}${" ".repeat(5 * 1024 * 1024)}`;
    const r = await raw(server.port, `DELETE /api/projects/${p.body.id} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nauthorization: Bearer ${me.token}`, chunked(body));
    expect(r.status).toBe(413);
    expect((await t.request("GET", `/api/projects/${p.body.id}`, { token: me.token })).status).toBe(200);
  });

  test("an empty Host: the path is routed as sent (never another route), list links on the server's own address", async () => {
    expect((await raw(server.port, "GET /api/health HTTP/1.1\r\nhost: ")).status).toBe(200);
    const p = await t.request("POST", "/api/projects", { token: me.token, body: { name: "also kept" } });
    const wrong = await raw(server.port, `DELETE /abc/api/projects/${p.body.id} HTTP/1.1\r\nhost: \r\nauthorization: Bearer ${me.token}`);
    expect(wrong.status).toBe(404);
    expect((await t.request("GET", `/api/projects/${p.body.id}`, { token: me.token })).status).toBe(200);
    expect((await raw(server.port, `GET /zzz/api/tasks?page_size=1 HTTP/1.1\r\nhost: \r\nauthorization: Bearer ${me.token}`)).status).toBe(404);
    const page = await raw(server.port, `GET /api/projects?page_size=1 HTTP/1.1\r\nhost: \r\nauthorization: Bearer ${me.token}`);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body).next).toStartWith(`${server.url}/api/projects?`);
  });

  // Found by QA: `new URL` of such a request threw: 500s, and no request log line even for writes that committed.
  for (const host of ["example.com:99999", "a:abc", "[::1", "[zz]", "a:1:2"]) {
    test(`Host: ${host} (no valid URL) is answered 400 with the error body, logged and counted, and nothing runs`, async () => {
      const p = await t.request("POST", "/api/projects", { token: me.token, body: { name: "survives" } });
      const r = await raw(server.port, `DELETE /api/projects/${p.body.id} HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${me.token}`);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body).error).toEqual({ code: "bad_request", message: "the Host header is not a valid host and port", details: {} });
      expect((await t.request("GET", `/api/projects/${p.body.id}`, { token: me.token })).status).toBe(200);
      expect((await raw(server.port, `GET /nope HTTP/1.1\r\nhost: ${host}`)).status).toBe(400);
      await afterResponseHooks();
      expect(lines.filter((l) => l.event === "request" && l.status === 400 && l.path === `/api/projects/${p.body.id}`)).toHaveLength(1);
    });
  }

  test("a chunked body with a Host that makes no valid URL is answered 400 unread", async () => {
    const r = await raw(server.port, `POST /api/projects HTTP/1.1\r\nhost: [::1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nauthorization: Bearer ${me.token}`, chunked(JSON.stringify({ name: "never" })));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe("bad_request");
  });

  // Login takes 1 MB at most, a route behind the token 5 MB: both read through the copy, and stopped at their limit.
  for (const [path, token] of [["/api/auth/login", false], ["/api/projects", true]] as const) {
    test(`a chunked body over its limit sent in pieces, with a short Host, is answered 413 while the client still sends (${path})`, async () => {
      const socket = connect(server.port, "127.0.0.1");
      const answered = new Promise<string>((resolve) => {
        let text = "";
        socket.on("data", (d) => {
          text += d.toString("utf8");
          if (text.includes("\r\n\r\n")) resolve(text);
        });
        socket.on("error", () => resolve(text));
      });
      socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${token ? `authorization: Bearer ${me.token}\r\n` : ""}transfer-encoding: chunked\r\n\r\n`);
      const piece = "a".repeat(64 * 1024);
      let sent = 0;
      const sending = (async () => {
        while (sent < 7 * 1024 * 1024 && !socket.destroyed) {
          if (!socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`)) {
            await new Promise((done) => {
              socket.once("drain", done);
              socket.once("close", done); // destroyed once answered: no drain comes
            });
          }
          sent += piece.length;
        }
      })();
      const text = await Promise.race([answered, new Promise<string>((resolve) => setTimeout(() => resolve("no answer"), 3_000))]);
      socket.destroy();
      await sending.catch(() => {});
      expect(text.split("\r\n")[0]).toBe("HTTP/1.1 413 Payload Too Large");
    });
  }

  test("a chunked body over 5 MB answers 413 with the error body, and is logged and counted under its route", async () => {
    const big = JSON.stringify({ title: "x".repeat(5 * 1024 * 1024) });
    const r = await raw(server.port, `POST /api/tasks HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nauthorization: Bearer ${me.token}`, chunked(big));
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.code).toBe("payload_too_large");
    await afterResponseHooks();
    expect(lines.filter((l) => l.event === "request" && l.status === 413 && l.path === "/api/tasks")).toHaveLength(1);
    const metrics = await t.request("GET", "/api/metrics", { token: (await t.createUser({ role: "admin", org: me.org.slug })).token, headers: { accept: "text/plain" } });
    expect(metrics.body).toContain('taskmgr_http_requests_total{method="POST",route="/api/tasks",status="413"} 1\n');
  });

  test("a chunked login is limited by its own client's address, not one shared by every copied request", async () => {
    const u = await t.createUser();
    const login = (password: string) =>
      raw(server.port, "POST /api/auth/login HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked", chunked(JSON.stringify({ email: u.email, password })));
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) expect((await login("wrong")).status).toBe(401);
    const failed = lines.filter((l) => l.event === "login_failed" && l.email === u.email);
    expect(failed.map((l) => l.client)).toEqual(Array(LOGIN_FAILURES_ALLOWED).fill(expect.stringContaining("127.0.0.1")));
    expect((await login(u.password)).status).toBe(429);
  });
});
