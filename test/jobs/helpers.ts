import type { Config } from "../../src/config";
import type { Database } from "../../src/db/types";
import type { JobsOptions } from "../../src/jobs/types";
import { createLogger, silentLogger, type Logger } from "../../src/log/logger";
import { createServices } from "../../src/services";
import { ManualClock } from "../support/clock";
import { testConfig } from "../support/app";

/** Services over `db` with a ManualClock (time is moved by hand, never waited for). */
export function jobServices(db: Database, opts: { config?: Partial<Config>; jobs?: JobsOptions; log?: Logger; now?: string } = {}) {
  const clock = new ManualClock(new Date(opts.now ?? "2026-06-01T03:00:00.000Z"));
  const services = createServices({ db, config: testConfig(opts.config), clock, log: opts.log ?? silentLogger, jobs: opts.jobs });
  return { services, clock };
}

/** A logger that keeps its JSON lines in memory, parsed. */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger({ level: "debug", console: (l) => lines.push(JSON.parse(l)) }), lines };
}
