import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pkg from "../../package.json";
import { IN_MEMORY_WARNING, openFailure } from "../../cli/context";
import { type Ran, removeTempDirs, taskmgr, tempDir } from "./support";

/** A database nothing listens on: commands that do not need one must not notice it. */
const DEAD_PG = "postgres://taskmgr:s3cr3t-pw@127.0.0.1:1/nowhere";

/**
 * `orgs list` against a Postgres URL where something else answers, then hangs up: the command waits
 * its 15 s for a first answer, so it is started with the file (its wait spent while the other tests
 * run) and its result checked by its test below.
 */
let impostorRun: Promise<{ port: number; run: Ran }>;
beforeAll(() => {
  const impostor = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        socket.write("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
        socket.end();
      },
    },
  });
  impostorRun = taskmgr(["orgs", "list", "--db", `postgres://app:pw@127.0.0.1:${impostor.port}/x`], { cwd: tempDir() })
    .then((run) => ({ port: impostor.port, run }))
    .finally(() => impostor.stop(true));
});
afterAll(async () => {
  await impostorRun.catch(() => {});
  removeTempDirs();
});

describe("taskmgr without a database", () => {
  const cwd = tempDir();

  test("--version prints the package version and exits 0", async () => {
    const r = await taskmgr(["--version", "--db", DEAD_PG], { cwd });
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });

  test.each([[["--help"]], [["orgs", "--help"]], [["users", "create", "--help"]], [["help", "devices"]], [["migrate", "status", "--help"]], [["migrate", "help"]], [["migrate", "help", "status"]]])(
    "%p prints help on stdout and exits 0",
    async (args) => {
      const r = await taskmgr([...args, "--db", DEAD_PG], { cwd });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Usage: taskmgr");
      expect(r.stderr).toBe("");
    },
  );

  // Found by QA: `conflicts resolve` without an id complained about --use (Commander checks mandatory options first).
  test.each([[["conflicts", "resolve"]], [["conflicts", "resolve", "--use", "local"]], [["conflicts", "resolve", "--data", "{}"]]])(
    "%p: the missing id is named first, one line, exit 2",
    async (args) => {
      const r = await taskmgr([...args, "--db", DEAD_PG], { cwd });
      expect([r.code, r.stdout, r.stderr]).toEqual([2, "", "error: missing required argument 'id'\n"]);
    },
  );

  test("the root help lists every command group and the global flags", async () => {
    const r = await taskmgr(["--help"], { cwd });
    for (const word of ["serve", "migrate", "orgs", "users", "devices", "--db", "--log-level", "--version"]) expect(r.stdout).toContain(word);
  });

  test("users create --help names its flags and the global ones", async () => {
    const r = await taskmgr(["users", "create", "--help"], { cwd });
    for (const word of ["--org", "--email", "--name", "--role", "--password", "--json", "--db"]) expect(r.stdout).toContain(word);
  });

  test.each([
    [["bogus"], "unknown command"],
    [["orgs", "list", "--bogus"], "unknown option"],
    [["orgs"], "Usage"],
    [["orgs", "create"], "missing required argument"],
    [["users", "create", "--org", "acme"], "--email"],
    [["users", "create", "--org", "acme", "--email", "a@b.c", "--role", "boss"], "Allowed choices are admin, member"],
    [["devices", "revoke"], "missing required argument"],
    [["devices", "revoke", "nope"], "'nope' is invalid for argument 'id'. must be a UUID"],
    [["conflicts", "show", "not-a-uuid"], "must be a UUID"],
    [["conflicts", "resolve", "12345", "--use", "local"], "must be a UUID"],
    // Found by CLI QA: "too many arguments for 'migrate'", where `orgs sideways` is an unknown command.
    [["migrate", "sideways"], "error: unknown command 'sideways'"],
    [["migrate", "status", "sideways"], "too many arguments for 'status'"],
    [["conflicts", "resolve", "8c1a4ff4-5b47-4c38-9c43-8a7d2a0c3f10"], "error: required option '--use <side>' not specified"],
    [["--db"], "argument missing"],
    // Found by QA: these were looked up ("organization \"\" not found", exit 1).
    [["users", "list", "--org", ""], "'--org <slug>' argument '' is invalid. must not be empty"],
    [["conflicts", "list", "--org", " "], "must not be empty"],
    [["devices", "list", "--user", ""], "must not be empty"],
    [["users", "create", "--org", "", "--email", "a@b.c"], "must not be empty"],
    [["orgs", "create", "Acme", "--slug", ""], "must not be empty"],
    // Found by CLI QA: an empty EMAIL argument was looked up ("user  not found", exit 1), where `--user ''` is bad usage.
    [["users", "set-password", ""], "invalid for argument 'email'. must not be empty"],
    [["users", "deactivate", " "], "must not be empty"],
    [["users", "activate", ""], "must not be empty"],
    // Found by QA: these four were told only once the database was open (a SQLite file was created and migrated).
    [["conflicts", "resolve", "8c1a4ff4-5b47-4c38-9c43-8a7d2a0c3f10", "--use", "custom"], "error: --use custom needs --data"],
    [["conflicts", "resolve", "8c1a4ff4-5b47-4c38-9c43-8a7d2a0c3f10", "--use", "local", "--data", "{}"], "error: --data goes only with --use custom"],
    [["conflicts", "resolve", "8c1a4ff4-5b47-4c38-9c43-8a7d2a0c3f10", "--use", "custom", "--data", "{\"title\":"], "error: --data is not valid JSON"],
    [["conflicts", "resolve", "8c1a4ff4-5b47-4c38-9c43-8a7d2a0c3f10", "--use", "custom", "--data", "[1]"], "error: --data must be a JSON object"],
  ])("bad usage %p exits 2 without touching the database", async (args, message) => {
    const r = await taskmgr([...args, ...(args[0] === "--db" ? [] : ["--db", DEAD_PG])], { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain("cannot connect");
  });
});

describe("failures exit 1 with one line on stderr", () => {
  const cwd = tempDir();

  test.each([[["orgs", "list"]], [["migrate"]], [["migrate", "status"]], [["serve", "--port", "0"]], [["devices", "list", "--json"]]])(
    "%p against a dead database names it without the password",
    async (args) => {
      const r = await taskmgr([...args, "--db", DEAD_PG], { cwd });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe("error: cannot connect to database postgres://taskmgr:***@127.0.0.1:1/nowhere: connect ECONNREFUSED 127.0.0.1:1\n");
    },
  );

  test("an unsupported database URL: from DATABASE_URL a failure (1), from --db bad usage (2), naming the setting and the value", async () => {
    const env = await taskmgr(["orgs", "list"], { cwd, env: { DATABASE_URL: "mysql://localhost/x" } });
    expect([env.code, env.stderr]).toEqual([1, 'error: DATABASE_URL must be sqlite:PATH, sqlite::memory: or postgres://…, not "mysql://localhost/x"\n']);
    const flag = await taskmgr(["orgs", "list", "--db", "bogus"], { cwd });
    expect([flag.code, flag.stderr]).toEqual([2, 'error: --db must be sqlite:PATH, sqlite::memory: or postgres://…, not "bogus"\n']);
    const empty = await taskmgr(["orgs", "list", "--db", ""], { cwd });
    expect([empty.code, empty.stderr]).toEqual([2, "error: --db needs a value\n"]);
  });

  test("a Postgres URL that reaches something else (answers, then hangs up): exit 1 with one line, not a reconnect loop forever", async () => {
    const { port, run } = await impostorRun;
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: cannot connect to database postgres://app:***@127.0.0.1:${port}/x: no answer within 15 s (is a database server at that address?)\n`);
  }, 40_000);

  test.each([
    [["orgs", "list"], { LOG_LEVEL: "loud" }, "LOG_LEVEL must be one of"],
    [["serve", "--port", "0"], { LOG_LEVEL: "loud" }, "LOG_LEVEL must be one of"],
    [["serve"], { PORT: "http" }, "PORT must be an integer"],
    [["serve"], { PORT: "0x1F90" }, "PORT must be an integer"],
    [["orgs", "list"], { TOMBSTONE_RETENTION_DAYS: "1e1" }, "TOMBSTONE_RETENTION_DAYS must be an integer"],
    [["serve", "--port", "0"], { CORS_ORIGINS: "app.example.com" }, "CORS_ORIGINS must be * or a comma-separated list of origins: app.example.com is not an origin"],
  ])("%p with a bad configuration value %p", async (args, env, message) => {
    const r = await taskmgr([...args, "--db", "sqlite::memory:"], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`error: ${message}`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("an admin command does not read HOST, PORT, TRUSTED_PROXIES or CORS_ORIGINS: a bad one there does not stop it", async () => {
    const r = await taskmgr(["orgs", "list", "--json", "--db", `sqlite:${cwd}/ignores-serving.db`], {
      cwd,
      env: { PORT: "http", HOST: "", TRUSTED_PROXIES: "not an address", CORS_ORIGINS: "app.example.com" },
    });
    expect([r.code, r.stderr]).toEqual([0, ""]);
  });

  // Found by QA: `DATABASE_URL=sqlite::memory: taskmgr orgs create …` said it created the organization
  // and kept nothing. The contract lets every command use sqlite::memory:, so it runs, warned.
  test.each([
    [["orgs", "create", "Acme"], { DATABASE_URL: "sqlite::memory:" }],
    [["orgs", "list", "--db", "sqlite::memory:"], {}],
  ])("%p on an in-memory database runs, warning on stderr that nothing it writes is kept", async (args, env) => {
    const r = await taskmgr(args, { cwd, env });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`warning: ${IN_MEMORY_WARNING}\n`);
  });

  test("a command that fails on an in-memory database prints its one error line, without the warning", async () => {
    const r = await taskmgr(["users", "list", "--org", "nosuch", "--db", "sqlite::memory:"], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toStartWith("error: ");
  });

  test.each([
    [["orgs", "list", "--log-level", "loud"], "--log-level must be one of"],
    [["serve", "--port", "abc"], "--port must be an integer"],
    [["serve", "--port", ""], "--port needs a value"],
    [["serve", "--host", ""], "--host needs a value"],
  ])("a bad flag value %p is bad usage: exit 2, one line naming the flag", async (args, message) => {
    const r = await taskmgr([...args, "--db", "sqlite::memory:"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(`error: ${message}`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test.each([
    [["--log-level", "debug"], {}],
    [[], { LOG_LEVEL: "debug" }],
    [["--log-level", "DEBUG"], { LOG_LEVEL: "warn" }],
    // Read as the configuration reads them, spaces around the value ignored (found by the CLI reading).
    [[], { LOG_LEVEL: " debug\n" }],
    [["--log-level", " debug "], {}],
  ])("at log level debug (flags %p, env %p) a failure also prints its stack", async (flags, env) => {
    const r = await taskmgr(["orgs", "list", "--db", DEAD_PG, ...flags], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("error: ");
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  test("--log-level info beats LOG_LEVEL=debug: no stack", async () => {
    const r = await taskmgr(["orgs", "list", "--db", DEAD_PG, "--log-level", "info"], { cwd, env: { LOG_LEVEL: "debug" } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("a flag beats its environment variable", async () => {
    const r = await taskmgr(["migrate", "status", "--json", "--db", "sqlite::memory:"], { cwd, env: { DATABASE_URL: DEAD_PG } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).every((m: { applied_at: unknown }) => m.applied_at === null)).toBe(true);
  });
});

// Found by QA: a read-only SQLite file was "cannot connect to database …: attempt to write a readonly database".
test.each([
  ["sqlite:./ro.db", "attempt to write a readonly database", "cannot open database sqlite:./ro.db: attempt to write a readonly database (taskmgr writes the file, and its -wal and -shm beside it: the file and its folder must be writable)"],
  ["sqlite:./x.db", "unable to open database file", "cannot open database sqlite:./x.db: unable to open database file"],
  ["postgres://u:pw@h/d", "connect ECONNREFUSED", "cannot connect to database postgres://u:***@h/d: connect ECONNREFUSED"],
])("a database %p that cannot be opened (%p) is said so in one line", (url, message, line) => {
  expect(openFailure(url, message)).toBe(line);
});

test("a SQLite database that cannot be opened for want of space says its disk is full, whatever SQLite's words", () => {
  expect(openFailure("sqlite:./x.db", "disk I/O error", true)).toBe(
    "cannot open database sqlite:./x.db: disk I/O error (its disk is full: taskmgr needs room beside the file for its -wal and -shm; free space there)",
  );
});
