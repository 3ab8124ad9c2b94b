import type { Config } from "../../src/config";
import type { Database } from "../../src/db/types";
import type { JobsOptions } from "../../src/jobs/types";
import type { Logger } from "../../src/log/logger";
import { createServices } from "../../src/services";
import { ManualClock } from "../support/clock";
import { testConfig, testLogger } from "../support/app";

/** Services over `db` with a ManualClock (time is moved by hand, never waited for). */
export function jobServices(db: Database, opts: { config?: Partial<Config>; jobs?: JobsOptions; log?: Logger; now?: string } = {}) {
  const clock = new ManualClock(new Date(opts.now ?? "2026-06-01T03:00:00.000Z"));
  const services = createServices({ db, config: testConfig(opts.config), clock, log: opts.log ?? testLogger(), jobs: opts.jobs });
  return { services, clock };
}

export { memoryLogger } from "../support/log";
