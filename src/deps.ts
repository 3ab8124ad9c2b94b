/**
 * What every service is built from. src/services.ts (the composition root) builds the services
 * from one; the services import this type from here, never from the root.
 */
import type { Config } from "./config";
import type { Database } from "./db/types";
import type { JobsOptions } from "./jobs/types";
import type { Logger } from "./log/logger";
import type { Clock } from "./time";
import type { Argon2Cost } from "./users/password";

export interface Deps {
  db: Database;
  config: Config;
  clock: Clock;
  log: Logger;
  /** Password hashing cost; Bun's Argon2id defaults when absent (tests lower it). */
  argon2?: Argon2Cost;
  /** Scheduled jobs: the job list, instance name and batch size (tests replace them). */
  jobs?: JobsOptions;
}
