/**
 * A device used again while the write of its previous `last_seen_at` is still under way
 * (src/devices/last-seen.ts): the later use is written too, after that write. It was dropped — the
 * device was taken for noted already — so `last_seen_at` stayed a minute (or more) behind; seen as a
 * flaky test on Postgres under load (test/auth/tokens.test.ts, "written at most once a minute").
 */
import { expect, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { LastSeenRecorder } from "../../src/devices/last-seen";
import { ManualClock } from "../support/clock";
import { memoryLogger } from "../support/log";

test("a use noted while the device's previous write is under way is written after it", async () => {
  const clock = new ManualClock();
  const written: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const db = {
    dialect: "sqlite",
    run: async (_sql: string, params: unknown[]) => {
      if (written.length === 0) await held; // the first write takes its time
      written.push(params[0] as string);
      return { changes: 1 };
    },
  } as unknown as Database;
  const recorder = new LastSeenRecorder({ db, clock, log: memoryLogger().log });
  const first = clock.now().toISOString();
  recorder.record("org", { id: "dev", lastSeenAt: null });
  await Bun.sleep(5); // its write has started
  clock.advance(61_000);
  const later = clock.now().toISOString();
  recorder.record("org", { id: "dev", lastSeenAt: null }); // read before the first write landed
  expect(recorder.withPending({ id: "dev", lastSeenAt: null as string | null }).lastSeenAt).toBe(later);
  release();
  await recorder.close();
  expect(written).toEqual([first, later]);
});

test("a use within the minute of a write under way adds none", async () => {
  const clock = new ManualClock();
  const written: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const db = {
    dialect: "sqlite",
    run: async (_sql: string, params: unknown[]) => {
      await held;
      written.push(params[0] as string);
      return { changes: 1 };
    },
  } as unknown as Database;
  const recorder = new LastSeenRecorder({ db, clock, log: memoryLogger().log });
  const first = clock.now().toISOString();
  recorder.record("org", { id: "dev", lastSeenAt: null });
  await Bun.sleep(5);
  clock.advance(30_000);
  recorder.record("org", { id: "dev", lastSeenAt: null });
  release();
  await recorder.close();
  expect(written).toEqual([first]);
});

test("a use read before the device's write landed, noted after it, adds none within the minute", async () => {
  // A burst's request reads the device (last_seen_at not yet written), the write lands, then the
  // request notes the device: it was written again (an UPDATE that found nothing to change).
  const clock = new ManualClock();
  const written: string[] = [];
  const db = {
    dialect: "sqlite",
    run: async (_sql: string, params: unknown[]) => {
      written.push(params[0] as string);
      return { changes: 1 };
    },
  } as unknown as Database;
  const recorder = new LastSeenRecorder({ db, clock, log: memoryLogger().log });
  recorder.record("org", { id: "dev", lastSeenAt: null });
  await recorder.flush();
  clock.advance(5_000);
  recorder.record("org", { id: "dev", lastSeenAt: null }); // as read before that write
  await recorder.close();
  expect(written).toEqual([new Date(clock.now().getTime() - 5_000).toISOString()]);
});
