/**
 * Migrations 0012-0014 only add or replace indexes (scale QA): on a database of version 11 holding
 * refresh tokens and conflicts (open and resolved), they apply on both dialects, keep every row, leave
 * the indexes they name with the columns they name (`conflicts_org_open` gone), and the conflict
 * lists and the token statements read them in order.
 */
import { expect, test } from "bun:test";
import { RefreshTokenRepo } from "../../src/auth/repo";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { RetentionRepo } from "../../src/jobs/retention-repo";
import { ConflictRepo } from "../../src/sync/conflicts-repo";
import { createTestDatabase, DIALECTS, indexDefinitions } from "../support/db";

const AT = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, "0")}.000Z`;

for (const dialect of DIALECTS) {
  test(`0012-0014 apply on stored refresh tokens and conflicts and leave their indexes [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version <= 11));
      await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT(0)]);
      await db.run("INSERT INTO users (id, org_id, email, name, role, password_hash, created_at, updated_at) VALUES ('u', 'o', 'u@example.test', 'U', 'member', 'x', ?, ?)", [AT(0), AT(0)]);
      for (let i = 1; i <= 6; i++) {
        await db.run(
          "INSERT INTO refresh_tokens (id, family_id, user_id, device_id, token_hash, created_at, expires_at) VALUES (?, ?, 'u', ?, ?, ?, ?)",
          [`r${i}`, `f${i}`, i % 2 ? "d1" : "d2", `h${i}`, AT(i), `2026-02-0${i}T00:00:00.000Z`],
        );
        // Conflicts created in the order c6, c5, … c1 (their ids the other way round), every third resolved.
        await db.run(
          `INSERT INTO conflicts (id, org_id, entity, entity_id, fields, local, remote, created_at, resolved_at, resolution)
           VALUES (?, 'o', 'task', ?, '["title"]', '{}', '{}', ?, ?, ?)`,
          [`c${i}`, `t${i}`, AT(10 - i), i % 3 === 0 ? AT(20) : null, i % 3 === 0 ? "remote" : null],
        );
      }
      expect((await indexDefinitions(db, ["refresh_tokens", "conflicts"])).has("conflicts_org_open")).toBe(true);

      expect((await migrate(db, MIGRATIONS.filter((m) => m.version <= 14))).map((m) => m.version)).toEqual([12, 13, 14]);

      const after = await indexDefinitions(db, ["refresh_tokens", "conflicts"]);
      expect(after.has("conflicts_org_open")).toBe(false);
      expect(after.get("conflicts_org_open_created")).toContain("(org_id, resolved_at, created_at, id)");
      expect(after.get("conflicts_org_created")).toContain("(org_id, created_at, id)");
      expect(after.get("refresh_tokens_device")).toContain("(device_id)");
      expect(after.get("refresh_tokens_expires")).toContain("(expires_at)");

      const conflicts = new ConflictRepo(db, "o");
      expect((await conflicts.list(false, { page: 1, pageSize: 10 })).results.map((c) => c.id)).toEqual(["c5", "c4", "c2", "c1"]);
      expect((await conflicts.list(true, { page: 1, pageSize: 10 })).results.map((c) => c.id)).toEqual(["c6", "c5", "c4", "c3", "c2", "c1"]);
      await new RefreshTokenRepo(db).revokeForDevice("d2", AT(30));
      expect(await db.all("SELECT id FROM refresh_tokens WHERE revoked_at IS NOT NULL ORDER BY id")).toEqual([{ id: "r2" }, { id: "r4" }, { id: "r6" }]);
      expect(await new RetentionRepo(db).deleteExpiredRefreshTokens("2026-02-03T12:00:00.000Z", 500)).toBe(3);
      expect(await db.get("SELECT COUNT(*) AS n FROM refresh_tokens")).toEqual({ n: 3 });
    } finally {
      await drop();
    }
  });
}
