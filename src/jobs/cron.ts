import { Cron } from "croner";

/** Cron patterns are evaluated in UTC, so that every instance agrees on each tick whatever its time zone. */
export const CRON_OPTIONS = { utcOffset: 0 } as const;

const patterns = new Map<string, Cron>();

/** A paused croner instance used only for date arithmetic (it never schedules anything). */
function pattern(schedule: string): Cron {
  let c = patterns.get(schedule);
  if (!c) {
    c = new Cron(schedule, { ...CRON_OPTIONS, paused: true });
    patterns.set(schedule, c);
  }
  return c;
}

/** The first tick of `schedule` strictly after `after`, or null if it never fires again. */
export function nextTick(schedule: string, after: Date): Date | null {
  return pattern(schedule).nextRun(after);
}

const LOOKBACKS_MS = [60_000, 3_600_000, 86_400_000, 8 * 86_400_000, 367 * 86_400_000];

/**
 * The latest tick of `schedule` at or before `at`: the identity of the scheduled run that fires at
 * `at`, the same on every instance even when their timers fire a little apart.
 */
export function currentTick(schedule: string, at: Date): Date | null {
  for (const back of LOOKBACKS_MS) {
    let prev: Date | null = null;
    let t = nextTick(schedule, new Date(at.getTime() - back - 1000));
    while (t && t.getTime() <= at.getTime()) {
      prev = t;
      t = nextTick(schedule, t);
    }
    if (prev) return prev;
  }
  return null;
}
