import type { Config } from "./config";
import type { Database } from "./db/types";
import type { Logger } from "./log/logger";
import type { Clock } from "./time";

/** What every service is built from. */
export interface Deps {
  db: Database;
  config: Config;
  clock: Clock;
  log: Logger;
}

/**
 * Builds every service once. The HTTP routes and the CLI both call these: no rule
 * is implemented twice.
 */
export function createServices(deps: Deps) {
  return {
    deps,
  };
}

export type Services = ReturnType<typeof createServices>;
