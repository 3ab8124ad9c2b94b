/** The source of "now", injected so that jobs, tokens and retention can be tested without waiting. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The instant `days` days before `now`, as stored (ISO 8601): the cutoff of a retention period. */
export function daysBefore(now: Date, days: number): string {
  return new Date(now.getTime() - days * 86_400_000).toISOString();
}

/**
 * `now` as stored (ISO 8601), or `earliest` when `now` is before it: a write's time never precedes
 * the last one it follows (a record's `updated_at`, a conflict's `created_at`), whatever this
 * instance's clock says (instances on one database whose clocks differ, or a clock set back).
 */
export function notBefore(now: Date, earliest: string | null | undefined): string {
  const at = now.toISOString();
  return earliest != null && earliest > at ? earliest : at;
}
