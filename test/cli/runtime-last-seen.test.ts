/**
 * A device's `last_seen_at` is written in the background, just after the request that used it
 * (src/devices/last-seen.ts). A command's runtime (`serve` included) closes the database when the
 * command returns: the writes still pending then must be made first, not sent to a closed database.
 */
import { expect, test } from "bun:test";
import { Command } from "commander";
import { withRuntime } from "../../cli/context";
import { openDatabase } from "../../src/db/open";
import { createTestApp } from "../support/app";
import { createTestDatabase, DIALECTS } from "../support/db";
import { memoryLogger } from "../support/log";

for (const dialect of DIALECTS) {
  test(`[${dialect}] a last_seen_at noted just before the command returns is written before the database closes`, async () => {
    const { db, url, drop } = await createTestDatabase(dialect);
    try {
      const u = await (await createTestApp(db)).createUser();
      const { log, lines } = memoryLogger();
      const cmd = new Command().option("--db <url>").parse(["--db", url], { from: "user" });
      const at = await withRuntime(
        cmd,
        async ({ services }) => {
          services.lastSeen.record(u.org.id, { id: u.deviceId!, lastSeenAt: null });
          return new Date().toISOString();
        },
        { log: () => log },
      );
      const after = openDatabase(url);
      try {
        const stored = (await after.get<{ last_seen_at: string | null }>("SELECT last_seen_at FROM devices WHERE id = ?", [u.deviceId!]))!.last_seen_at;
        expect(stored).not.toBeNull();
        expect(stored! <= at).toBe(true);
      } finally {
        await after.close();
      }
      expect(lines.filter((l) => l.event === "last_seen_failed")).toEqual([]);
    } finally {
      await drop();
    }
  });
}
