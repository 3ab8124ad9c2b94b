import type { Database } from "../../src/db/types";

/**
 * Postgres only: a push whose feed row carries `mark` (in a title, say) sleeps `seconds` in its
 * COMMIT (a deferred constraint trigger on `feed`), after its feed position was taken and before it
 * commits. Runs `body` with it installed and removes it after. `sleeping()` resolves once such a
 * push is asleep there.
 */
export async function withCommitHeld(db: Database, mark: string, seconds: number, body: (sleeping: () => Promise<void>) => Promise<void>): Promise<void> {
  await db.run(`CREATE FUNCTION qa_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF position('${mark}' in NEW.change) > 0 THEN PERFORM pg_sleep(${seconds}); END IF; RETURN NULL; END $$`);
  await db.run(`CREATE CONSTRAINT TRIGGER qa_hold_commit AFTER INSERT OR UPDATE ON feed DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION qa_hold_commit()`);
  try {
    await body(async () => {
      for (let i = 0; ; i++) {
        const asleep = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()");
        if (Number(asleep!.n) > 0) return;
        if (i > 200) throw new Error("the held push never reached its COMMIT");
        await Bun.sleep(10);
      }
    });
  } finally {
    await db.run("DROP TRIGGER qa_hold_commit ON feed");
    await db.run("DROP FUNCTION qa_hold_commit()");
  }
}
