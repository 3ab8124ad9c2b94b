import { afterAll, describe, expect, test } from "bun:test";
import pkg from "../../package.json";
import { removeTempDirs, taskmgr, tempDir } from "./support";

/** A database nothing listens on: commands that do not need one must not notice it. */
const DEAD_PG = "postgres://taskmgr:s3cr3t-pw@127.0.0.1:1/nowhere";

afterAll(removeTempDirs);

describe("taskmgr without a database", () => {
  const cwd = tempDir();

  test("--version prints the package version and exits 0", async () => {
    const r = await taskmgr(["--version", "--db", DEAD_PG], { cwd });
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });

  test.each([[["--help"]], [["orgs", "--help"]], [["users", "create", "--help"]], [["help", "devices"]], [["migrate", "status", "--help"]]])(
    "%p prints help on stdout and exits 0",
    async (args) => {
      const r = await taskmgr([...args, "--db", DEAD_PG], { cwd });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Usage: taskmgr");
      expect(r.stderr).toBe("");
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
    [["migrate", "sideways"], "too many arguments"],
    [["--db"], "argument missing"],
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

  test("an unsupported database URL", async () => {
    const r = await taskmgr(["orgs", "list", "--db", "mysql://localhost/x"], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("mysql://localhost/x");
  });

  test.each([
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL must be one of"],
    [{ PORT: "http" }, "PORT must be an integer"],
  ])("a bad configuration value %p", async (env, message) => {
    const r = await taskmgr(["orgs", "list", "--db", "sqlite::memory:"], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`error: ${message}`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test.each([
    [["orgs", "list", "--log-level", "loud"], "--log-level must be one of"],
    [["serve", "--port", "abc"], "--port must be an integer"],
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
  ])("at log level debug (flags %p, env %p) a failure also prints its stack", async (flags, env) => {
    const r = await taskmgr(["orgs", "list", "--db", "mysql://localhost/x", ...flags], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("error: ");
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  test("--log-level info beats LOG_LEVEL=debug: no stack", async () => {
    const r = await taskmgr(["orgs", "list", "--db", "mysql://localhost/x", "--log-level", "info"], { cwd, env: { LOG_LEVEL: "debug" } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("a flag beats its environment variable", async () => {
    const r = await taskmgr(["migrate", "status", "--json", "--db", "sqlite::memory:"], { cwd, env: { DATABASE_URL: DEAD_PG } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).every((m: { applied_at: unknown }) => m.applied_at === null)).toBe(true);
  });
});
