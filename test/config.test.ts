/** loadConfig: flags beat variables beat defaults; an empty variable is unset, an empty flag bad usage; values checked strictly. */
import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { ConfigError, defaultPoolSize, loadConfig } from "../src/config";
import { redact } from "../src/db/url";

/** The error loadConfig throws: its message and whether a flag gave the value (exit 2 rather than 1). */
function refusal(flags: Parameters<typeof loadConfig>[0], env: Record<string, string>): { message: string; fromFlag: boolean } {
  try {
    loadConfig(flags, env);
  } catch (err) {
    if (err instanceof ConfigError) return { message: err.message, fromFlag: err.fromFlag };
    throw err;
  }
  throw new Error("accepted");
}

describe("loadConfig", () => {
  test("an empty variable is unset: the default applies (HOST= does not listen on every interface)", () => {
    const c = loadConfig({}, { HOST: "", PORT: " ", DATABASE_URL: "", LOG_LEVEL: "", TOMBSTONE_RETENTION_DAYS: "", TASKMGR_SECRET: "", LOG_DIR: "" });
    expect({ host: c.host, port: c.port, db: c.databaseUrl, level: c.logLevel, days: c.tombstoneRetentionDays, secret: c.secret, logDir: c.logDir }).toEqual({
      host: "127.0.0.1",
      port: 8000,
      db: "sqlite:./data/taskmgr.db",
      level: "info",
      days: 90,
      secret: null,
      logDir: resolve("./logs"),
    });
  });

  test.each([
    [{ host: "" }, "--host needs a value"],
    [{ port: "" }, "--port needs a value"],
    [{ db: "" }, "--db needs a value"],
    [{ logLevel: " " }, "--log-level needs a value"],
  ])("an empty flag value %p is bad usage", (flags, message) => {
    expect(refusal(flags, {})).toEqual({ message, fromFlag: true });
  });

  test.each([
    ["0x10", true],
    ["1e3", true],
    ["+80", true],
    ["80.0", true],
    ["-1", true],
    ["65536", true],
    ["8080", false],
    [" 8080 ", false],
    ["0", false],
  ])("PORT=%p refused: %p (decimal digits only)", (port, refused) => {
    if (refused) expect(refusal({}, { PORT: port })).toEqual({ message: `PORT must be an integer from 0 to 65535, not "${port}"`, fromFlag: false });
    else expect(loadConfig({}, { PORT: port }).port).toBe(Number(port));
  });

  test.each([
    [1, 4],
    [2, 4],
    [3, 6],
    [4, 8],
    [5, 10],
    [64, 10],
  ])("DATABASE_POOL_SIZE's default on %p CPUs: %p (two per core, 4 to 10)", (cores, size) => {
    expect(defaultPoolSize(cores)).toBe(size);
  });

  test("DATABASE_POOL_SIZE: by default two per CPU core of this machine (4 to 10), 1 to 1000", () => {
    expect(loadConfig({}, {}).databasePoolSize).toBe(defaultPoolSize(availableParallelism()));
    expect(loadConfig({}, { DATABASE_POOL_SIZE: "25" }).databasePoolSize).toBe(25);
    expect(refusal({}, { DATABASE_POOL_SIZE: "0" }).message).toBe('DATABASE_POOL_SIZE must be an integer from 1 to 1000, not "0"');
  });

  test("the other integers too, and a flag's refusal names the flag", () => {
    expect(refusal({}, { TOMBSTONE_RETENTION_DAYS: "1e1" }).message).toStartWith("TOMBSTONE_RETENTION_DAYS must be an integer");
    expect(refusal({}, { ACCESS_TOKEN_TTL_SECONDS: "0x20" }).message).toStartWith("ACCESS_TOKEN_TTL_SECONDS must be an integer");
    expect(refusal({ port: "0x46C5" }, {})).toEqual({ message: '--port must be an integer from 0 to 65535, not "0x46C5"', fromFlag: true });
  });

  test.each([
    [{ db: "bogus" }, {}, '--db must be sqlite:PATH, sqlite::memory: or postgres://…, not "bogus"', true],
    [{}, { DATABASE_URL: "mysql://localhost/x" }, 'DATABASE_URL must be sqlite:PATH, sqlite::memory: or postgres://…, not "mysql://localhost/x"', false],
    [{}, { DATABASE_URL: "sqlite:" }, 'DATABASE_URL needs a file after sqlite: (e.g. sqlite:./data/taskmgr.db), or sqlite::memory:, not "sqlite:"', false],
    // Found by QA: opening it failed, and left an empty file named after the folder.
    [{ db: "sqlite:./data/" }, {}, '--db names a folder: add the file\'s name (e.g. sqlite:./data/taskmgr.db), not "sqlite:./data/"', true],
    // Found by CLI QA: a folder named ~ was made in the working folder.
    [{}, { DATABASE_URL: "sqlite:~/taskmgr.db" }, 'DATABASE_URL starts with ~, which is not expanded (it would make a folder of that name here): write the path out, e.g. sqlite:///home/me/taskmgr.db, not "sqlite:~/taskmgr.db"', false],
    [{ db: "sqlite:~bob/x.db" }, {}, '--db starts with ~, which is not expanded (it would make a folder of that name here): write the path out, e.g. sqlite:///home/me/taskmgr.db, not "sqlite:~bob/x.db"', true],
    [{ db: "mysql://app:hunter2@db/x" }, {}, '--db must be sqlite:PATH, sqlite::memory: or postgres://…, not "mysql://app:***@db/x"', true],
    [{ db: "sqlite:./q.db?mode=ro" }, {}, '--db takes no parameters after ? (SQLite URI options such as mode=ro are not read): name the file only, not "sqlite:./q.db?mode=ro"', true],
    [{}, { DATABASE_URL: "sqlite::memory:?cache=shared" }, 'DATABASE_URL takes no parameters after ? (SQLite URI options such as mode=ro are not read): name the file only, not "sqlite::memory:?cache=shared"', false],
    [{}, { DATABASE_URL: "sqlite://data/x.db" }, 'DATABASE_URL must say sqlite:./relative/path or sqlite:///absolute/path (sqlite://path is ambiguous), not "sqlite://data/x.db"', false],
  ])("database URL %p %p refused", (flags, env, message, fromFlag) => {
    expect(refusal(flags, env)).toEqual({ message, fromFlag });
  });

  test.each([
    [{ LOG_DIR: "~/logs" }, 'LOG_DIR starts with ~, which is not expanded (it would make a folder of that name here): write the path out, not "~/logs"'],
    [{ TASKMGR_DATA_DIR: "~" }, 'TASKMGR_DATA_DIR starts with ~, which is not expanded (it would make a folder of that name here): write the path out, not "~"'],
    // Found by ops QA: a user's home folder without a slash after it made a folder named ~bob.
    [{ TASKMGR_DATA_DIR: "~bob" }, 'TASKMGR_DATA_DIR starts with ~, which is not expanded (it would make a folder of that name here): write the path out, not "~bob"'],
  ])("folder %p refused", (env, message) => {
    expect(refusal({}, env)).toEqual({ message, fromFlag: false });
  });

  test("a folder named ~ written out is a folder like any other", () => {
    expect(loadConfig({}, { LOG_DIR: "./~/logs", TASKMGR_DATA_DIR: "/srv/~x" })).toMatchObject({ logDir: resolve("./~/logs"), dataDir: "/srv/~x" });
  });

  test("database URLs accepted, and the data folder follows a SQLite file (two slashes after sqlite: dropped)", () => {
    expect(loadConfig({ db: "sqlite::memory:" }, {}).dataDir).toBe(resolve("./data"));
    expect(loadConfig({ db: "sqlite:/srv/tm/x.db" }, {}).dataDir).toBe("/srv/tm");
    expect(loadConfig({ db: "sqlite:///srv/tm/x.db" }, {}).dataDir).toBe("/srv/tm");
    expect(loadConfig({ db: "sqlite:./rel/x.db" }, {}).dataDir).toBe(resolve("./rel"));
    expect(loadConfig({ db: "sqlite:./~/x.db" }, {}).dataDir).toBe(resolve("./~"));
    // A file named like a home folder is a file here (review: ~name alone is refused for folders only).
    expect(loadConfig({ db: "sqlite:~x.db" }, {}).databaseUrl).toBe("sqlite:~x.db");
    expect(loadConfig({}, { DATABASE_URL: "postgresql://u:p@h:5432/d" }).databaseUrl).toBe("postgresql://u:p@h:5432/d");
    // A URL's scheme is case-insensitive; the rest (a file's name, a password) is kept as written.
    expect(loadConfig({ db: "SQLite:./Rel/X.db" }, {}).databaseUrl).toBe("sqlite:./Rel/X.db");
    expect(loadConfig({ db: "SQLITE::memory:" }, {}).databaseUrl).toBe("sqlite::memory:");
    expect(loadConfig({}, { DATABASE_URL: "POSTGRES://U:P@H/D" }).databaseUrl).toBe("postgres://U:P@H/D");
    // The driver reads the rest of a postgres:// URL, several hosts included.
    expect(loadConfig({}, { DATABASE_URL: " postgres://u:p@h1:5432,h2:5432/d " }).databaseUrl).toBe("postgres://u:p@h1:5432,h2:5432/d");
  });

  test("hostFrom names the setting that gave the host (serve names it when it cannot listen there)", () => {
    expect(loadConfig({}, {}).hostFrom).toBe("HOST");
    expect(loadConfig({}, { HOST: "0.0.0.0" }).hostFrom).toBe("HOST");
    expect(loadConfig({}, { HOST: "0.0.0.0" }, { fromFile: new Set(["HOST"]) }).hostFrom).toBe("HOST (in .env)");
    expect(loadConfig({ host: "::1" }, { HOST: "0.0.0.0" }).hostFrom).toBe("--host");
  });

  test("values are trimmed: HOST and LOG_LEVEL as the others", () => {
    const c = loadConfig({}, { HOST: " 0.0.0.0 ", LOG_LEVEL: " debug " });
    expect([c.host, c.logLevel]).toEqual(["0.0.0.0", "debug"]);
  });
});

describe("redact", () => {
  test.each([
    ["postgres://app:hunter2@db:5432/x", "postgres://app:***@db:5432/x"],
    ["postgres://app:pa/ss@db/x", "postgres://app:***@db/x"],
    ["postgres://app:12#34@db/x", "postgres://app:***@db/x"],
    ["postgres://app:p@ss@db/x", "postgres://app:***@db/x"],
    ["postgres://app@db/x", "postgres://app@db/x"],
    ["postgres://db/x", "postgres://db/x"],
    ["sqlite:./data/taskmgr.db", "sqlite:./data/taskmgr.db"],
    ["bogus", "bogus"],
    ["postgres://app@db/x?sslmode=require&password=S3cret&x=1", "postgres://app@db/x?sslmode=require&password=***&x=1"],
  ])("%p → %p", (url, safe) => {
    expect(redact(url)).toBe(safe);
  });
});

// A parameter's name is read with its percent-escapes decoded (src/db/pg-url.ts, as psql reads it):
// `pass%77ord=` sets the password, which was printed and logged (`server_started`) as written.
test("redact masks a password parameter whose name is written with percent-escapes", () => {
  expect(redact("postgres://app@db/x?pass%77ord=S3cret")).toBe("postgres://app@db/x?pass%77ord=***");
  expect(redact("postgres://app@db/x?sslmode=require&%70assword=S3cret&x=1")).toBe("postgres://app@db/x?sslmode=require&%70assword=***&x=1");
  expect(redact("postgres://app@db/x?pass%zzword=kept")).toBe("postgres://app@db/x?pass%zzword=kept");
});
