import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { createApp } from "../../src/app";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { type RunningServer, startServer } from "../../src/server";
import { createTestApp } from "../support/app";

let server: RunningServer;
beforeAll(async () => {
  const db = openDatabase("sqlite::memory:");
  await migrate(db);
  const t = await createTestApp(db);
  server = startServer(createApp(t.services, t.deps), { host: "127.0.0.1", port: 0 });
});
afterAll(() => server.stop(true));

/** Sends `count` keep-alive requests for the health on one connection, one after the other; the raw answers, and whether the server closed it. */
function onOneConnection(count: number): Promise<{ answers: string[]; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1");
    const answers: string[] = [];
    let buffer = "";
    const send = () => socket.write("GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
    socket.on("connect", send);
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      const head = buffer.indexOf("\r\n\r\n");
      const length = Number(/content-length: *(\d+)/i.exec(buffer)?.[1] ?? NaN);
      if (head < 0 || buffer.length < head + 4 + length) return;
      answers.push(buffer.slice(0, head));
      buffer = buffer.slice(head + 4 + length);
      if (answers.length < count) send();
      else setTimeout(() => (socket.destroy(), resolve({ answers, closedByServer: false })), 300);
    });
    socket.on("end", () => resolve({ answers, closedByServer: true }));
    socket.on("error", reject);
  });
}

test("while the server drains, answers carry Connection: close and the server closes the connection after the answer", async () => {
  const before = await onOneConnection(2);
  expect(before.answers).toHaveLength(2);
  expect(before.closedByServer).toBe(false);
  expect(before.answers.join("\n")).not.toMatch(/connection: close/i);

  server.drain();
  const after = await onOneConnection(1);
  expect(after.answers).toHaveLength(1);
  expect(after.answers[0]).toMatch(/^HTTP\/1.1 200/);
  expect(after.answers[0]).toMatch(/connection: close/i);
  expect(after.closedByServer).toBe(true);
});

// Found by QA: `--host '[::1]'` printed http://[[::1]]:PORT.
test.each(["::1", "[::1]"])("the URL of a server on IPv6 host %p brackets the address once", async (host) => {
  const db = openDatabase("sqlite::memory:");
  await migrate(db);
  const t = await createTestApp(db);
  const v6 = startServer(createApp(t.services, t.deps), { host, port: 0 });
  try {
    expect(v6.url).toBe(`http://[::1]:${v6.port}`);
    expect((await fetch(`${v6.url}/api/health`)).status).toBe(200);
  } finally {
    await v6.stop(true);
    await db.close();
  }
});
