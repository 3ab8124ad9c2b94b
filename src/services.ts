import { AuthService } from "./auth/service";
import { BackupService } from "./backup/service";
import { CommentService } from "./comments/service";
import type { Deps } from "./deps";
import { LastSeenRecorder } from "./devices/last-seen";
import { DeviceService } from "./devices/service";
import { HealthService } from "./health/service";
import { JobsService } from "./jobs/service";
import { MetricsService } from "./metrics/service";
import { OrgService } from "./orgs/service";
import { ProjectService } from "./projects/service";
import { ConflictService } from "./sync/conflict-service";
import { SyncService } from "./sync/service";
import { TaskService } from "./tasks/service";
import { PasswordHasher } from "./users/password";
import { UserService } from "./users/service";

/**
 * Builds every service once. The HTTP routes and the CLI both call these: no rule
 * is implemented twice.
 */
export function createServices(deps: Deps) {
  const hasher = new PasswordHasher(deps.argon2);
  const lastSeen = new LastSeenRecorder(deps);
  const sync = new SyncService(deps, lastSeen);
  const jobs = new JobsService(deps, deps.jobs, sync);
  return {
    orgs: new OrgService(deps, hasher),
    users: new UserService(deps, hasher),
    devices: new DeviceService(deps, lastSeen),
    auth: new AuthService(deps, hasher, lastSeen),
    jobs,
    metrics: new MetricsService(deps),
    health: new HealthService(deps, jobs),
    projects: new ProjectService(deps),
    tasks: new TaskService(deps),
    comments: new CommentService(deps),
    sync,
    conflicts: new ConflictService(deps),
    backup: new BackupService(deps),
    /** The devices' `last_seen_at` writes, made off the requests' path: closed before the database is. */
    lastSeen,
  };
}

export type Services = ReturnType<typeof createServices>;
