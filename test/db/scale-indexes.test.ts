/**
 * Statements whose cost must not grow with the size of the server or of an organization (scale QA,
 * 5,000 devices and 200,000 refresh tokens): each one is answered through an index, on both dialects
 * (Postgres analyzed, as autovacuum leaves it). Checked with the database's own plan.
 */
import { beforeAll, expect, test } from "bun:test";
import { RefreshTokenRepo } from "../../src/auth/repo";
import { columns, insertRows } from "../../src/db/bulk";
import { RetentionRepo } from "../../src/jobs/retention-repo";
import { DeviceRepo } from "../../src/devices/repo";
import { ConflictRepo } from "../../src/sync/conflicts-repo";
import { UserRepo } from "../../src/users/repo";
import type { Executor, SqlValue } from "../../src/db/types";
import { forEachDialect } from "../support/db";
import { spyOn } from "../support/spy";

const AT = "2026-01-01T00:00:00.000Z";
const uuid = (prefix: number, i: number) => `${String(prefix).padStart(8, "0")}-0000-4000-8000-${String(i).padStart(12, "0")}`;


/** The statement's plan as text (SQLite: EXPLAIN QUERY PLAN details; Postgres: EXPLAIN as JSON). */
async function planOf(db: Executor, q: { sql: string; params: SqlValue[] }): Promise<string> {
  if (db.dialect === "sqlite") return (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${q.sql}`, q.params)).map((r) => r.detail).join(" | ");
  const [row] = await db.all<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${q.sql}`, q.params);
  return JSON.stringify(row!["QUERY PLAN"]);
}

const DEVICES = 200;
const PER_DEVICE = 10;

forEachDialect("refresh tokens of a device", ({ db }) => {
  // The tokens both tests read (each test runs alone too, with -t).
  beforeAll(async () => {
    const d = db();
    await d.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT]);
    await d.run("INSERT INTO users (id, org_id, email, name, role, password_hash, created_at, updated_at) VALUES ('u', 'o', 'u@example.test', 'U', 'member', 'x', ?, ?)", [AT, AT]);
    const cols = columns([["id", "text"], ["family_id", "text"], ["user_id", "text"], ["device_id", "text"], ["token_hash", "text"], ["created_at", "text"], ["expires_at", "text"]]);
    const rows: SqlValue[][] = [];
    for (let dev = 0; dev < DEVICES; dev++) {
      for (let k = 0; k < PER_DEVICE; k++) rows.push([uuid(1, dev * PER_DEVICE + k), uuid(2, dev * PER_DEVICE + k), "u", uuid(3, dev), "h", AT, "2026-02-01T00:00:00.000Z"]);
    }
    await insertRows(d, "refresh_tokens", cols, rows);
    if (d.dialect === "postgres") await d.exec("ANALYZE refresh_tokens");
  });

  test("revoking a device's refresh tokens looks them up by device, not by reading every token", async () => {
    const d = db();

    const seen: { sql: string; params: SqlValue[] }[] = [];
    await new RefreshTokenRepo(spyOn(d, seen)).revokeForDevice(uuid(3, 7), "2026-01-02T00:00:00.000Z");
    expect(seen.length).toBe(1);
    const plan = await planOf(d, seen[0]!);
    expect(plan).toContain("refresh_tokens_device");
    expect(plan).not.toMatch(/SCAN refresh_tokens($| )|Seq Scan/);
    // and it revoked exactly that device's tokens
    const revoked = await d.all<{ device_id: string }>("SELECT DISTINCT device_id FROM refresh_tokens WHERE revoked_at IS NOT NULL");
    expect(revoked).toEqual([{ device_id: uuid(3, 7) }]);
    expect(Number((await d.get<{ n: number }>("SELECT COUNT(*) AS n FROM refresh_tokens WHERE revoked_at IS NOT NULL"))!.n)).toBe(PER_DEVICE);
  });

  test("each batch of the expired refresh tokens' purge finds them by expiry, not by reading and sorting every token", async () => {
    const d = db();
    const seen: { sql: string; params: SqlValue[] }[] = [];
    // the tokens above expire on 2026-02-01: none has expired a day earlier, all a day later
    expect(await new RetentionRepo(spyOn(d, seen)).deleteExpiredRefreshTokens("2026-01-31T00:00:00.000Z", 500)).toBe(0);
    const plan = await planOf(d, seen[0]!);
    expect(plan).toContain("refresh_tokens_expires");
    expect(plan).not.toMatch(/SCAN refresh_tokens($| )|TEMP B-TREE FOR ORDER BY|Seq Scan/);
    expect(await new RetentionRepo(d).deleteExpiredRefreshTokens("2026-02-02T00:00:00.000Z", 500)).toBe(500);
  });
});

forEachDialect("conflict lists", ({ db }) => {
  test("a page of conflicts, open or all, is read in the order of an index, without sorting the organization's conflicts", async () => {
    const d = db();
    await d.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT]);
    const cols = columns([["id", "text"], ["org_id", "text"], ["entity", "text"], ["entity_id", "text"], ["fields", "text"], ["local", "text"], ["remote", "text"], ["created_at", "text"], ["resolved_at", "text"], ["resolution", "text"]]);
    const record = JSON.stringify({ title: "t".repeat(40), description: "d".repeat(400) });
    const rows: SqlValue[][] = [];
    for (let i = 0; i < 2000; i++) {
      const resolved = i % 4 === 3;
      // several conflicts share a created_at (one push): the id orders them
      rows.push([uuid(4, i), "o", "task", uuid(5, i), '["title"]', record, record, `2026-01-01T00:${String(Math.floor(i / 40)).padStart(2, "0")}:00.000Z`, resolved ? AT : null, resolved ? "remote" : null]);
    }
    await insertRows(d, "conflicts", cols, rows);
    if (d.dialect === "postgres") await d.exec("ANALYZE conflicts");

    for (const includeResolved of [false, true]) {
      const seen: { sql: string; params: SqlValue[] }[] = [];
      const page = await new ConflictRepo(spyOn(d, seen), "o").list(includeResolved, { page: 2, pageSize: 50 });
      expect(page.count).toBe(includeResolved ? 2000 : 1500);
      const all = rows.filter((r) => includeResolved || r[8] === null).map((r) => r[0]);
      expect(page.results.map((c) => c.id)).toEqual(all.slice(50, 100) as string[]);
      const plan = await planOf(d, seen.at(-1)!);
      expect(`include_resolved=${includeResolved}: ${plan}`).toMatch(/conflicts_org_(open_)?created/);
      expect(`include_resolved=${includeResolved}: ${plan}`).not.toMatch(/TEMP B-TREE|"Sort"|SCAN conflicts($| )|Seq Scan/);
    }
  });
});

forEachDialect("devices and users of a large organization", ({ db }) => {
  const USERS = 1000;
  const PER_USER = 3;
  beforeAll(async () => {
    const d = db();
    await d.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT]);
    const userCols = columns([["id", "text"], ["org_id", "text"], ["email", "text"], ["name", "text"], ["role", "text"], ["password_hash", "text"], ["created_at", "text"], ["updated_at", "text"]]);
    await insertRows(d, "users", userCols, Array.from({ length: USERS }, (_, u) => [uuid(6, u), "o", `u${u}@example.test`, "U", "member", "x", AT, AT]));
    const deviceCols = columns([["id", "text"], ["org_id", "text"], ["user_id", "text"], ["name", "text"], ["created_at", "text"]]);
    const rows: SqlValue[][] = [];
    for (let i = 0; i < USERS * PER_USER; i++) rows.push([uuid(7, i), "o", uuid(6, Math.floor(i / PER_USER)), "d", `2026-01-01T00:00:${String(i % 60).padStart(2, "0")}.000Z`]);
    await insertRows(d, "devices", deviceCols, rows);
    if (d.dialect === "postgres") await d.exec("ANALYZE users; ANALYZE devices");
  });

  // SQLite without statistics took `devices_org (org_id)` for both, reading every device of the
  // organization at each push (6,000 devices: 0.46 ms a lookup against 0.01 ms by id).
  test("a push's lookup of the devices and users its clocks name is by id, not a read of the organization's devices", async () => {
    const d = db();
    for (const [table, repo, prefix] of [["devices", (e: Executor) => new DeviceRepo(e, "o"), 7], ["users", (e: Executor) => new UserRepo(e, "o"), 6]] as const) {
      const seen: { sql: string; params: SqlValue[] }[] = [];
      const ids = await repo(spyOn(d, seen)).findIds([uuid(prefix, 5), uuid(prefix, 2500), uuid(prefix, 999_999)]);
      expect([...ids].sort()).toEqual([uuid(prefix, 5), uuid(prefix, 2500)].filter((id) => table === "devices" || id !== uuid(6, 2500)));
      expect(await repo(d).findIds([uuid(prefix, 5)])).toEqual(new Set([uuid(prefix, 5)]));
      expect((await new DeviceRepo(d, "another").findIds([uuid(7, 5)])).size).toBe(0);
      expect(seen.length).toBe(1);
      const plan = await planOf(d, seen[0]!);
      expect(`${table}: ${plan}`).toMatch(d.dialect === "sqlite" ? new RegExp(`SEARCH ${table} USING (COVERING )?INDEX sqlite_autoindex_${table}_1 \\(id=\\?\\)`) : new RegExp(`${table}_pkey`));
    }
  });

  test("a page of a user's devices, and its count, are read along devices_user, not every device of the organization", async () => {
    const d = db();
    const seen: { sql: string; params: SqlValue[] }[] = [];
    const page = await new DeviceRepo(spyOn(d, seen), "o").listForUser(uuid(6, 40), { page: 1, pageSize: 50 });
    expect(page.count).toBe(PER_USER);
    expect(page.results.map((x) => x.id)).toEqual([uuid(7, 120), uuid(7, 121), uuid(7, 122)]);
    expect((await new DeviceRepo(d, "another").listForUser(uuid(6, 40), { page: 1, pageSize: 50 })).count).toBe(0);
    expect(seen.length).toBe(2); // count, page
    for (const q of seen) {
      const plan = await planOf(d, q);
      expect(plan).toContain("devices_user");
      expect(plan).not.toMatch(/devices_org|SCAN devices($| )|Seq Scan/);
    }
  });
});
