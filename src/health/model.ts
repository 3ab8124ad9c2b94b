import { t, type Static } from "elysia";
import { JobsHealth } from "../jobs/model";
import { Timestamp } from "../wire/schema";

/** `GET /api/health`: the contract's `status`, `database`, `version`, plus migration state, the latest job runs, a full storage and a newer schema. */
export const HealthResponse = t.Object(
  {
    status: t.Literal("ok"),
    database: t.Union([t.Literal("sqlite"), t.Literal("postgres")]),
    version: t.String(),
    migrations: t.Union([t.Literal("current"), t.Literal("pending")], {
      description: "current; a database that lacks migrations this program needs answers 503 (run `taskmgr migrate`): pending is never answered since",
    }),
    jobs: JobsHealth,
    storage_full_at: t.Optional(
      Timestamp(
        "only while writes fail for lack of space: when this server's latest write was refused because the database's storage is full " +
          "(within the last minute). Writes, logins and token refreshes answer 503 meanwhile; reads go on while access tokens live. " +
          "Absent otherwise. The status stays ok and the answer 200, so that a load balancer keeps sending reads",
      ),
    ),
    newer_migrations: t.Optional(
      t.Array(t.Integer(), {
        description:
          "only when the database holds migrations this program does not know: a newer taskmgr migrated it while this one runs, " +
          "whose requests then fail wherever the schema changed. Stop this instance and run the newer version. Absent otherwise",
      }),
    ),
  },
  { title: "Health" },
);
export type HealthResponse = Static<typeof HealthResponse>;
