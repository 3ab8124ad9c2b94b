import type { Clock } from "../../src/time";

/** A clock that tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t: Date = new Date("2026-01-01T00:00:00.000Z")) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
  set(d: Date): void {
    this.t = new Date(d);
  }
}
