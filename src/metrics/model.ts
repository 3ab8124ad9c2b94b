import { t, type Static } from "elysia";
import { DueDate } from "../records/model";
import { CHANGE_STATUSES, type ChangeStatus } from "../sync/model";
import { PageQuery, Paginated } from "../wire/pagination";
import { PLUS_HINT, Query } from "../wire/query";
import { REASON } from "../wire/reasons";
import { Nullable, Timestamp } from "../wire/schema";

const Rate = t.Union([t.Number(), t.Null()]);

export const MetricsQuery = Query({
  window: t.Optional(t.String({ description: "look-back window: a number and m, h or d (e.g. 1h, 24h, 7d), from 1m to 366d (422 otherwise); default 24h" })),
});

/** Counts of pushed changes by result status over the window. */
export const PushResults = t.Object(Object.fromEntries(CHANGE_STATUSES.map((s) => [s, t.Integer()])) as Record<ChangeStatus, ReturnType<typeof t.Integer>>);

/** One user's devices that synced in the window: at least one successful push or pull (failed requests make no device active). */
export const ActiveDevices = t.Object({ user_id: t.String(), email: t.Union([t.String(), t.Null()]), active_devices: t.Integer() });
export type ActiveDevices = Static<typeof ActiveDevices>;

/** A device and its latest sync. */
export const DeviceLastSync = t.Object({
  device_id: t.String(),
  user_id: t.String(),
  name: t.String(),
  last_sync_at: Nullable(Timestamp("latest push or pull still in the sync log, successful or failed")),
});
export type DeviceLastSync = Static<typeof DeviceLastSync>;

/**
 * `GET /api/metrics`: the caller's organization over `window` (from `from`, exclusive, to `to`).
 * Rates are fractions from 0 to 1, null when undefined (no syncs; no pushed changes).
 */
export const MetricsReport = t.Object(
  {
    window: t.String(),
    from: Timestamp("start of the window (exclusive)"),
    to: Timestamp("end of the window (inclusive): now"),
    syncs: t.Integer({ description: "push and pull requests logged in the window" }),
    pushes: t.Integer(),
    pulls: t.Integer(),
    failed_syncs: t.Integer(),
    sync_success_rate: Rate,
    changes_pushed: t.Integer(),
    conflict_rate: t.Union([t.Number(), t.Null()], { description: "conflicts / changes pushed" }),
    average_sync_duration_ms: Rate,
    push_results: PushResults,
    open_conflicts: t.Integer({ description: "unresolved conflicts now, whatever the window" }),
    active_devices_per_user: t.Array(ActiveDevices),
    devices: t.Array(DeviceLastSync),
    generated_at: Timestamp(),
  },
  { title: "Metrics" },
);
export type MetricsReport = Static<typeof MetricsReport>;

/** The reason a 422 gives for a `from` or `to` of `GET /api/metrics/hourly` that is not an ISO date or date-time. */
export const HOUR_BOUND_REASON = `must be an ISO date-time with a zone (e.g. 2026-06-01T10:00:00Z) or a date (YYYY-MM-DD, its start in UTC)${PLUS_HINT}`;

/** A bound of `GET /api/metrics/hourly`: the shape of an ISO date or date-time (the service checks it is a real one). */
const HourBound = (description: string) => t.String({ ...DueDate, description, [REASON]: HOUR_BOUND_REASON });

/** `GET /api/metrics/hourly` query: a page, and the hours whose end `to` lies in `(from, to]`. */
export const HourlyMetricsQuery = Query({
  ...PageQuery,
  from: t.Optional(HourBound("only hours that end after this instant (exclusive)")),
  to: t.Optional(HourBound("only hours that end at or before this instant (inclusive)")),
});
export type HourlyMetricsQuery = Static<typeof HourlyMetricsQuery>;

/**
 * `GET /api/metrics/hourly`: one hour of the caller's organization as the `sync-metrics` job stored
 * it, its bounds and figures named as in {@link MetricsReport} (`from` exclusive, `to` inclusive).
 * The job keeps fewer figures than the report: no pushes/pulls split, of the push results only the
 * conflicts, and users without their email.
 */
export const HourlyMetrics = t.Object(
  {
    from: Timestamp("start of the hour (exclusive)"),
    to: Timestamp("end of the hour (inclusive)"),
    syncs: t.Integer({ description: "push and pull requests logged in the hour" }),
    failed_syncs: t.Integer(),
    sync_success_rate: Rate,
    changes_pushed: t.Integer(),
    conflicts: t.Integer({ description: "pushed changes that ended in a conflict (push_results.conflict of GET /api/metrics)" }),
    conflict_rate: t.Union([t.Number(), t.Null()], { description: "conflicts / changes pushed" }),
    average_sync_duration_ms: Rate,
    active_devices: t.Integer({ description: "distinct devices with at least one successful push or pull in the hour" }),
    active_devices_per_user: t.Array(t.Omit(ActiveDevices, ["email"])),
    generated_at: Timestamp("when the job computed the figures"),
  },
  { title: "HourlyMetrics" },
);
export type HourlyMetrics = Static<typeof HourlyMetrics>;

export const HourlyMetricsPage = Paginated(HourlyMetrics, "HourlyMetricsPage");
