/** The Postgres user of a URL that names none: PGUSERNAME/PGUSER, else the system user (never Bun's "unknown"). */
import { describe, expect, test } from "bun:test";
import { defaultPgUser, urlUser } from "../../src/db/pg-user";

describe("urlUser", () => {
  test.each([
    ["postgres://app:pw@db:5432/x", "app"],
    ["postgres://app@db/x", "app"],
    ["postgres://ap%40p:pw@db/x", "ap@p"],
    ["postgres://app:p@ss@db/x", "app"],
    ["postgres://app:pw@h1:5432,h2:5432/x", "app"],
    ["postgres://db/x", ""],
    ["postgres://127.0.0.1/x?sslmode=disable", ""],
    ["postgres:///x", ""],
    ["postgresql://:pw@db/x", ""],
  ])("%p → %p", (url, user) => {
    expect(urlUser(url)).toBe(user);
  });
});

// Found by QA: `DATABASE_URL=postgres:///db` connected as role "unknown" (Bun's os.userInfo() without USER).
describe("defaultPgUser", () => {
  const sources = (env: Record<string, string>, systemUser?: string) => ({ env, systemUser: () => systemUser });

  test.each([
    ["the URL's user wins: nothing to add", "postgres://app@db/x", {}, "ops", undefined],
    ["PGUSER", "postgres://db/x", { PGUSER: "pg", USER: "me" }, "ops", "pg"],
    ["PGUSERNAME before PGUSER (as postgres.js)", "postgres://db/x", { PGUSERNAME: "pgn", PGUSER: "pg" }, "ops", "pgn"],
    ["the system user (password database) before USER, as libpq", "postgres:///x", { USER: "me" }, "ops", "ops"],
    ["USER when the system has no name for the process", "postgres:///x", { USER: "me", LOGNAME: "log" }, undefined, "me"],
    ["LOGNAME", "postgres:///x", { LOGNAME: "log" }, undefined, "log"],
    ["an empty PGUSER counts as unset", "postgres:///x", { PGUSER: " " }, "ops", "ops"],
  ])("%s", (_why, url, env, systemUser, expected) => {
    expect(defaultPgUser(url, sources(env, systemUser))).toBe(expected);
  });

  test("no user anywhere: an error saying how to name one, never a guess", () => {
    const r = defaultPgUser("postgres://127.0.0.1/x", sources({}));
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe(
      "the URL names no user, and neither PGUSER nor the system names one (this process's user has no name): write it in the URL (postgres://USER@host/db) or set PGUSER",
    );
  });
});
