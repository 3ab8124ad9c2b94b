/** The source of "now", injected so that jobs, tokens and retention can be tested without waiting. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The instant `days` days before `now`, as stored (ISO 8601): the cutoff of a retention period. */
export function daysBefore(now: Date, days: number): string {
  return new Date(now.getTime() - days * 86_400_000).toISOString();
}
