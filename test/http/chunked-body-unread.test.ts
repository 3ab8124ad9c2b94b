/**
 * A chunked body (`Transfer-Encoding: chunked`, no `Content-Length`) is read no earlier than a declared
 * one, over a real socket: a route that needs a token answers 401 without reading it, and a path that
 * no route takes answers 404 without waiting for it. Found by the slow-clients QA pass: the server read every
 * chunked body (up to 5 MB) before the app saw the request, so 100 anonymous connections each sending
 * a 5 MB chunked push without its last chunk took the server from 74 to 598 MB, unanswered for 30 s,
 * where the same bodies with `Content-Length` were answered 401 at once and cost nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { randomUUID } from "node:crypto";
import { createApp } from "../../src/app";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { type RunningServer, startServer } from "../../src/server";
import { createTestApp, type TestApp, type TestUser } from "../support/app";

const piece = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

/**
 * Sends `head` and a chunked body of `chunks`, ended with the last chunk only when `finish`; the
 * answer's status line and body, or "no answer" when none came within `waitMs`.
 */
function send(port: number, head: string, chunks: string[], finish: boolean, waitMs = 2_000): Promise<{ status: string; body: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    const done = (status: string) => {
      clearTimeout(timer);
      socket.destroy();
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      resolve({ status, body });
    };
    const timer = setTimeout(() => done("no answer"), waitMs);
    socket.on("data", (d) => {
      text += d.toString("utf8");
      const head = text.indexOf("\r\n\r\n");
      const length = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? NaN);
      if (head >= 0 && text.length >= head + 4 + length) done(text.split("\r\n")[0]!);
    });
    socket.on("error", () => done("reset"));
    socket.write(`${head}\r\ntransfer-encoding: chunked\r\n\r\n${chunks.map(piece).join("")}${finish ? "0\r\n\r\n" : ""}`);
  });
}

describe("chunked request bodies read no earlier than declared ones", () => {
  let t: TestApp;
  let server: RunningServer;
  let me: TestUser;
  beforeAll(async () => {
    const db = openDatabase("sqlite::memory:");
    await migrate(db);
    t = await createTestApp(db);
    server = startServer(createApp(t.services, t.deps), { host: "127.0.0.1", port: 0 });
    me = await t.createUser();
  });
  afterAll(() => server.stop(true));

  const started = [`{"device_id": "${randomUUID()}", "changes": [`, " ".repeat(64 * 1024)];

  for (const host of ["127.0.0.1", "x"]) {
    test(`a protected route without a token answers 401 before the body has come (Host: ${host})`, async () => {
      const r = await send(server.port, `POST /api/sync/push HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json`, started, false);
      expect(r.status).toBe("HTTP/1.1 401 Unauthorized");
      expect(JSON.parse(r.body).error.code).toBe("unauthenticated");
    });

    test(`a path no route takes answers 404 without waiting for the body (Host: ${host})`, async () => {
      const r = await send(server.port, `POST /api/no-such-route HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json`, started, false);
      expect(r.status).toBe("HTTP/1.1 404 Not Found");
      expect(JSON.parse(r.body).error.code).toBe("not_found");
    });

    test(`a chunked push with a token is read and applied (Host: ${host})`, async () => {
      const device = (await t.request("POST", "/api/devices", { token: me.token, body: { name: `chunked ${host}` } })).body;
      const change = { change_id: randomUUID(), entity: "task", entity_id: randomUUID(), op: "create", data: { title: "sent in chunks" }, vector_clock: { [device.id]: 1 } };
      const text = JSON.stringify({ device_id: device.id, changes: [change] });
      const head = `POST /api/sync/push HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\nauthorization: Bearer ${me.token}`;
      const r = await send(server.port, head, [text.slice(0, 20), text.slice(20)], true);
      expect(r.status).toBe("HTTP/1.1 200 OK");
      expect(JSON.parse(r.body).results.map((x: { status: string }) => x.status)).toEqual(["applied"]);
    });
  }
});
