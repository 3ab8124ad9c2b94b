import { AuthService } from "./auth/service";
import { CommentService } from "./comments/service";
import type { Config } from "./config";
import type { Database } from "./db/types";
import { DeviceService } from "./devices/service";
import { HealthService } from "./health/service";
import { JobsService, type JobsOptions } from "./jobs/service";
import type { Logger } from "./log/logger";
import { MetricsService } from "./metrics/service";
import { OrgService } from "./orgs/service";
import { ProjectService } from "./projects/service";
import { ConflictService } from "./sync/conflicts";
import { SyncService } from "./sync/service";
import { TaskService } from "./tasks/service";
import type { Clock } from "./time";
import { type Argon2Cost, PasswordHasher } from "./users/password";
import { UserService } from "./users/service";

/** What every service is built from. */
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

/**
 * Builds every service once. The HTTP routes and the CLI both call these: no rule
 * is implemented twice.
 */
export function createServices(deps: Deps) {
  const hasher = new PasswordHasher(deps.argon2);
  const jobs = new JobsService(deps, deps.jobs);
  return {
    deps,
    orgs: new OrgService(deps, hasher),
    users: new UserService(deps, hasher),
    devices: new DeviceService(deps),
    auth: new AuthService(deps, hasher),
    jobs,
    metrics: new MetricsService(deps),
    health: new HealthService(deps, jobs),
    projects: new ProjectService(deps),
    tasks: new TaskService(deps),
    comments: new CommentService(deps),
    sync: new SyncService(deps),
    conflicts: new ConflictService(deps),
  };
}

export type Services = ReturnType<typeof createServices>;
