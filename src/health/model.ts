import { t, type Static } from "elysia";
import { JobsHealth } from "../jobs/model";

/** `GET /api/health`: the contract's `status`, `database`, `version`, plus migration state and the latest job runs. */
export const HealthResponse = t.Object(
  {
    status: t.Literal("ok"),
    database: t.Union([t.Literal("sqlite"), t.Literal("postgres")]),
    version: t.String(),
    migrations: t.Union([t.Literal("current"), t.Literal("pending")], {
      description: "current; a database that lacks migrations this program needs answers 503 (run `taskmgr migrate`): pending is never answered since",
    }),
    jobs: JobsHealth,
  },
  { title: "Health" },
);
export type HealthResponse = Static<typeof HealthResponse>;
