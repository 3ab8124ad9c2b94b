import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { migrationStatus } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { createTestDatabase, DIALECTS } from "../support/db";
import { childEnv, removeTempDirs, serve, SOURCE_CLI, taskmgr, tempDir, type Served } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

type ErrorBody = { error: { code: string } };

const login = (url: string, email: string, password: string) =>
  fetch(`${url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });

for (const dialect of DIALECTS) {
  describe(`taskmgr serve [${dialect}]`, () => {
    const cwd = tempDir();
    let db = "";
    let drop: () => Promise<void> = async () => {};
    let server: Served | null = null;

    beforeAll(async () => {
      if (dialect === "sqlite") db = `sqlite:${join(cwd, "data", "serve.db")}`;
      else ({ url: db, drop } = await createTestDatabase("postgres", { migrate: false }));
    });
    afterAll(async () => {
      if (server) await server.stop("SIGKILL");
      await drop();
    });

    test("on an empty database: migrates, creates the first admin once, listens on the chosen port", async () => {
      server = await serve(["--port", "0", "--db", db], { cwd, env: { LOG_DIR: join(cwd, "logs"), TASKMGR_SECRET: "serve-test" } });
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const admin = /admin (\S+) with password: (\S+)/.exec(server.stdout());
      expect(admin).not.toBeNull();

      const health = await fetch(`${server.url}/api/health`);
      expect(health.status).toBe(200);
      expect((await health.json()) as object).toMatchObject({ status: "ok", database: dialect });

      const res = await login(server.url, admin![1]!, admin![2]!);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ token_type: "Bearer", access: expect.any(String), refresh: expect.any(String) });
    });

    test("serves the documentation from its own assets", async () => {
      const page = await fetch(`${server!.url}/api/docs`);
      expect(page.status).toBe(200);
      expect((await fetch(`${server!.url}/api/docs/swagger-ui-bundle.js`)).status).toBe(200);
      expect(((await (await fetch(`${server!.url}/api/schema`)).json()) as { openapi: string }).openapi).toStartWith("3.");
    });

    test("a body over 5 MB answers 413 with the error body, declared or chunked", async () => {
      const big = "x".repeat(6 * 1024 * 1024);
      const declared = await fetch(`${server!.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
      expect(declared.status).toBe(413);
      expect(((await declared.json()) as ErrorBody).error.code).toBe("payload_too_large");

      const chunks = new ReadableStream({
        start(c) {
          for (let i = 0; i < 12; i++) c.enqueue(new TextEncoder().encode("y".repeat(512 * 1024)));
          c.close();
        },
      });
      const chunked = await fetch(`${server!.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: chunks });
      expect(chunked.status).toBe(413);
      expect(((await chunked.json()) as ErrorBody).error.code).toBe("payload_too_large");
    });

    // On Postgres the event loop is not blocked by the database: SQLite only.
    test.skipIf(dialect !== "sqlite")("SIGTERM while a big push keeps the event loop busy: requests sent meanwhile are answered, not reset", async () => {
      const dir = tempDir();
      const s = await serve(["--port", "0", "--db", `sqlite:${join(dir, "busy.db")}`], { cwd: dir });
      try {
        const [, email, password] = /admin (\S+) with password: (\S+)/.exec(s.stdout())!;
        const { access } = (await (await login(s.url, email!, password!)).json()) as { access: string };
        const headers = { authorization: `Bearer ${access}`, "content-type": "application/json" };
        const device = ((await (await fetch(`${s.url}/api/devices`, { method: "POST", headers, body: JSON.stringify({ name: "d" }) })).json()) as { id: string }).id;
        const changes = Array.from({ length: 1000 }, () => ({
          change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create",
          data: { title: "x".repeat(400), description: "y".repeat(3000) }, vector_clock: { [device]: 1 },
        }));
        const push = fetch(`${s.url}/api/sync/push`, { method: "POST", headers, body: JSON.stringify({ device_id: device, changes }) });
        await Bun.sleep(120);
        const reads = [0, 1, 2].map(() => fetch(`${s.url}/api/tasks?page_size=1`, { headers }).then(async (r) => (await r.arrayBuffer(), r.status), (e: Error) => e.message));
        await Bun.sleep(60);
        s.proc.kill("SIGTERM");
        // The push's answer (every record, about 3.4 MB) is read in full: the server drains a response until its client has read it.
        const pushed = push.then(async (r) => [r.status, ((await r.json()) as { results: { status: string }[] }).results.filter((x) => x.status === "applied").length]);
        expect(await Promise.all([pushed, ...reads])).toEqual([[200, 1000], 200, 200, 200]);
        expect(await s.stop("SIGTERM")).toBe(0);
      } finally {
        if (s.proc.exitCode === null) await s.stop("SIGKILL");
      }
    });

    test("SIGTERM stops accepting, finishes the request in flight, and exits 0", async () => {
      const s = server!;
      const admin = /admin (\S+) with password: (\S+)/.exec(s.stdout())!;
      let send!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (send = c) });
      const encode = (text: string) => new TextEncoder().encode(text);
      const inFlight = fetch(`${s.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body });
      send.enqueue(encode(`{"email": ${JSON.stringify(admin[1])},`));
      await Bun.sleep(300);

      s.proc.kill("SIGTERM");
      await Bun.sleep(300);
      expect(s.proc.exitCode).toBeNull();
      await expect(fetch(`${s.url}/api/health`)).rejects.toThrow();

      send.enqueue(encode(` "password": ${JSON.stringify(admin[2])}}`));
      send.close();
      expect((await inFlight).status).toBe(200);
      expect(await s.stop("SIGTERM")).toBe(0);
      server = null;
      // The request in flight was logged, before the server says it stopped.
      const out = s.stdout();
      expect(out.indexOf('"path":"/api/auth/login"')).toBeGreaterThan(-1);
      expect(out.indexOf('"path":"/api/auth/login"')).toBeLessThan(out.indexOf('"event":"server_stopped"'));
      expect(s.stderr()).toBe("");
    });

    // The same code on both dialects: one run is enough.
    test.skipIf(dialect !== "sqlite")("a second signal a second or more after the first cuts the request in flight off; one sooner does not", async () => {
      const dir = tempDir();
      const s = await serve(["--port", "0", "--db", `sqlite:${join(dir, "force.db")}`], { cwd: dir });
      try {
        const body = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode('{"email": "x@y.z",')) });
        const stuck = fetch(`${s.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
          (r) => r.status,
          () => "cut off",
        );
        await Bun.sleep(200);
        s.proc.kill("SIGTERM");
        await Bun.sleep(300);
        s.proc.kill("SIGTERM"); // too soon: the same signal delivered twice
        await Bun.sleep(2_200); // well past the second, even on a busy machine
        expect(s.proc.exitCode).toBeNull();
        const t0 = Date.now();
        expect(await s.stop("SIGINT")).toBe(0);
        expect(Date.now() - t0).toBeLessThan(5_000);
        expect(await stuck).toBe("cut off");
        expect(s.stdout()).toContain('"event":"server_forced_stop"');
      } finally {
        if (s.proc.exitCode === null) await s.stop("SIGKILL");
      }
    });

    test("logs go to LOG_DIR/taskmgr.log as JSON lines, readable by the server's user only", () => {
      const file = join(cwd, "logs", "taskmgr.log");
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const events = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l).event);
      expect(events).toContain("server_started");
      expect(events).toContain("request");
    });

    test("warns at start when Postgres gathers no planner statistics (autovacuum off), never on SQLite", async () => {
      const events = readFileSync(join(cwd, "logs", "taskmgr.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l).event);
      let off = false;
      if (dialect === "postgres") {
        const { db: conn, drop: dropConn } = await createTestDatabase("postgres");
        off = (await conn.get<{ autovacuum: string }>("SHOW autovacuum"))!.autovacuum === "off";
        await dropConn();
      }
      expect(events.includes("postgres_autovacuum_off")).toBe(off);
    });

    test("a second start finds the admin and does not print a password", async () => {
      server = await serve(["--port", "0", "--db", db], { cwd, env: { LOG_DIR: join(cwd, "logs") } });
      expect(server.stdout()).not.toContain("password");
      expect(await server.stop("SIGINT")).toBe(0);
      server = null;
    });
  });
}

describe("taskmgr serve failures", () => {
  const cwd = tempDir();

  // Found by QA: `HOST=not_a_host taskmgr serve` ended with Bun's raw text ("EEXIST: file already exists, listen").
  test("a host that is no address of this machine, nor a name of one: exit 1 with one line naming the setting and the value", async () => {
    for (const host of ["999.1.1.1", "10.255.255.1", "not_a_host", "nosuch.invalid"]) {
      const flag = await taskmgr(["serve", "--host", host, "--port", "0", "--db", "sqlite::memory:"], { cwd, env: { LOG_DIR: join(cwd, "logs") } });
      expect([flag.code, flag.stdout, flag.stderr], host).toEqual([1, "", `error: --host must be an address of this machine or a name of one, not "${host}"\n`]);
      const env = await taskmgr(["serve", "--port", "0", "--db", `sqlite:${join(cwd, "host.db")}`], { cwd, env: { HOST: host, LOG_DIR: join(cwd, "logs") } });
      expect([env.code, env.stdout, env.stderr], host).toEqual([1, "", `error: HOST must be an address of this machine or a name of one, not "${host}"\n`]);
    }
  });

  test("a port in use: exit 1 with one line naming the address; a first start does not use up the admin's one showing of its password", async () => {
    const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") });
    const db = `sqlite:${join(cwd, "busy.db")}`;
    try {
      const r = await taskmgr(["serve", "--port", String(holder.port), "--db", db], { cwd, env: { LOG_DIR: join(cwd, "logs") } });
      expect(r.code).toBe(1);
      expect(r.stderr).toStartWith(`error: cannot listen on 127.0.0.1:${holder.port} (--host/HOST, --port/PORT): `);
      expect(r.stderr).not.toContain("the host is not");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).not.toContain("password");
    } finally {
      holder.stop(true);
    }
    const s = await serve(["--port", "0", "--db", db], { cwd, env: { LOG_DIR: join(cwd, "logs") } });
    expect(s.stdout()).toMatch(/admin \S+ with password: \S+/);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("SIGTERM while the first start creates the admin: the password is still shown, then the server stops (exit 0)", async () => {
    const free = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null) });
    const port = free.port;
    free.stop(true);
    const proc = Bun.spawn([...SOURCE_CLI, "serve", "--port", String(port), "--db", `sqlite:${join(cwd, "first.db")}`], {
      cwd,
      env: childEnv({ LOG_DIR: join(cwd, "logs") }),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    // Listening comes before the admin is created (its password hashed): signal as soon as it answers.
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.ok, () => false);
      if (up || proc.exitCode !== null) break;
      await Bun.sleep(2);
    }
    proc.kill("SIGTERM");
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/admin \S+ with password: \S+/);
    expect(stdout).toContain('"event":"server_stopped"');
  });

  test("SIGTERM while the database is opened and migrated: the migrations finish, the server never listens, exit 0", async () => {
    const file = join(cwd, "migrating.db");
    const proc = Bun.spawn([...SOURCE_CLI, "serve", "--port", "0", "--db", `sqlite:${file}`], {
      cwd,
      env: childEnv({ LOG_DIR: join(cwd, "logs") }),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    // The file appears when the database is opened, before the migrations run.
    while (!existsSync(file) && proc.exitCode === null) await Bun.sleep(1);
    proc.kill("SIGTERM");
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain('"event":"server_stopped"');
    const db = openDatabase(`sqlite:${file}`);
    try {
      expect((await migrationStatus(db)).every((m) => m.applied_at !== null)).toBe(true);
    } finally {
      await db.close();
    }
  });

  test("an empty HOST listens on 127.0.0.1, not on every interface", async () => {
    const s = await serve(["--port", "0", "--db", "sqlite::memory:"], { cwd, env: { HOST: "", LOG_DIR: join(cwd, "logs") } });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("a short TASKMGR_SECRET is warned about at start; a long one is not", async () => {
    for (const [secret, warned] of [
      ["abc", true],
      ["x".repeat(32), false],
    ] as const) {
      const s = await serve(["--port", "0", "--db", "sqlite::memory:"], { cwd, env: { TASKMGR_SECRET: secret, LOG_DIR: join(cwd, "logs") } });
      await Bun.sleep(100);
      expect(await s.stop("SIGTERM")).toBe(0);
      expect(s.stdout().includes('"event":"short_secret"')).toBe(warned);
    }
  });

  // Found by security review: a secret file readable by others was warned about (secret_file_mode),
  // but the same secret in a `.env` readable by every user (0644, as an editor writes it) was not.
  test("a .env that others may read or replace, holding TASKMGR_SECRET, is warned about at start; one of 0600, or without secrets, is not", async () => {
    const events = async (envText: string, mode: number) => {
      const dir = tempDir();
      writeFileSync(join(dir, ".env"), envText);
      chmodSync(join(dir, ".env"), mode);
      const s = await serve(["--port", "0", "--db", "sqlite::memory:"], { cwd: dir, env: { LOG_DIR: join(dir, "logs"), TASKMGR_DATA_DIR: join(dir, "data") } });
      await Bun.sleep(100);
      expect(await s.stop("SIGTERM")).toBe(0);
      return s
        .stdout()
        .split("\n")
        .filter((l) => l.includes('"event":"env_file_mode"'))
        .map((l) => JSON.parse(l) as { mode: string; variables: string[]; path: string; reason: string });
    };
    const secret = `TASKMGR_SECRET=${"s".repeat(40)}\n`;
    const [warned] = await events(secret, 0o644);
    expect(warned).toMatchObject({ mode: "0644", variables: ["TASKMGR_SECRET"], reason: expect.stringContaining("other users") });
    expect(warned!.path).toEndWith(".env");
    expect(JSON.stringify(warned)).not.toContain("s".repeat(40));
    expect(await events(secret, 0o600)).toEqual([]);
    expect(await events("LOG_LEVEL=info\n", 0o644)).toEqual([]);
  });

  test("a LOG_DIR that cannot be created: exit 1 naming LOG_DIR", async () => {
    const blocker = join(cwd, "a-file");
    await Bun.write(blocker, "not a folder");
    const r = await taskmgr(["serve", "--port", "0", "--db", "sqlite::memory:"], { cwd, env: { LOG_DIR: join(blocker, "logs") } });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`error: LOG_DIR (${join(blocker, "logs")}) cannot be used: `);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("a secret that cannot be stored stops the start (exit 1 naming TASKMGR_DATA_DIR), rather than every login failing", async () => {
    const blocker = join(cwd, "not-a-folder");
    await Bun.write(blocker, "a file where the data folder should be");
    const r = await taskmgr(["serve", "--port", "0", "--db", "sqlite::memory:"], { cwd, env: { TASKMGR_DATA_DIR: join(blocker, "data"), LOG_DIR: join(cwd, "logs") } });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`error: the secret file in TASKMGR_DATA_DIR (${join(blocker, "data")}) cannot be used: `);
    expect(r.stdout).not.toContain("listening");
  });
});
