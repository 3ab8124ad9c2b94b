/**
 * The clean-up of ended login windows (`LoginAttemptsRepo.deleteExpired`, run when any pair starts a
 * new window) must not delete a window that another attempt renewed meanwhile (Postgres). Its DELETE
 * picked the pairs in a subquery, read before the renewal committed; waiting for the renewed row,
 * Postgres then checked only the outer condition — the pair's key, still in the subquery's list —
 * against the new row, and deleted it: the new window's first failed attempt was not counted.
 *
 * Constructed: a transaction renews an ended window and holds the row while the clean-up waits for
 * it; once it commits, the renewed window must still be there.
 */
import { describe, expect, test } from "bun:test";
import { LoginAttemptsRepo } from "../../src/auth/attempts-repo";
import { PG_AVAILABLE } from "../support/db";
import { postgresTestApp } from "../support/pg-app";

describe.skipIf(!PG_AVAILABLE)("login attempts: the clean-up and a renewal at once [postgres]", () => {
  const pg = postgresTestApp();

  test("a window renewed while the clean-up waits for its row is kept, with its count", async () => {
    const db = pg.db();
    const now = "2026-12-07T10:00:00.000Z";
    const ended = "2026-12-07T09:00:00.000Z";
    const newEnd = "2026-12-07T10:15:00.000Z";
    await new LoginAttemptsRepo(db).record("account", "10.0.0.1", "2026-12-07T08:45:00.000Z", ended);

    let cleanup: Promise<number> | undefined;
    await db.transaction(async (tx) => {
      expect(await new LoginAttemptsRepo(tx).record("account", "10.0.0.1", now, newEnd)).toEqual({ attempts: 1, windowEndsAt: newEnd });
      cleanup = new LoginAttemptsRepo(db).deleteExpired(now);
      for (let i = 0; ; i++) {
        const waiting = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        if (Number(waiting?.n) > 0) break;
        if (i > 200) throw new Error("the clean-up never waited for the renewed row");
        await Bun.sleep(10);
      }
    });
    expect(await cleanup!).toBe(0);
    expect(await db.all("SELECT attempts, window_ends_at FROM login_attempts")).toEqual([{ attempts: 1, window_ends_at: newEnd }]);
  });
});
