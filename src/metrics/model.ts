import { t, type Static } from "elysia";
import { CHANGE_STATUSES, type ChangeStatus } from "../sync/model";
import { Query } from "../wire/query";

const Rate = t.Union([t.Number(), t.Null()]);

export const MetricsQuery = Query({
  window: t.Optional(t.String({ description: "look-back window: a number and m, h or d (e.g. 1h, 24h, 7d); default 24h" })),
});

/** Counts of pushed changes by result status over the window. */
export const PushResults = t.Object(Object.fromEntries(CHANGE_STATUSES.map((s) => [s, t.Integer()])) as Record<ChangeStatus, ReturnType<typeof t.Integer>>);

/** One user's devices that synced in the window. */
export const ActiveDevices = t.Object({ user_id: t.String(), email: t.Union([t.String(), t.Null()]), active_devices: t.Integer() });
export type ActiveDevices = Static<typeof ActiveDevices>;

/** A device and its latest sync. */
export const DeviceLastSync = t.Object({
  device_id: t.String(),
  user_id: t.String(),
  name: t.String(),
  last_sync_at: t.Union([t.String(), t.Null()], { description: "latest push or pull still in the sync log" }),
});
export type DeviceLastSync = Static<typeof DeviceLastSync>;

/**
 * `GET /api/metrics`: the caller's organization over `window` (from `from`, exclusive, to `to`).
 * Rates are fractions from 0 to 1, null when undefined (no syncs; no pushed changes).
 */
export const MetricsReport = t.Object(
  {
    window: t.String(),
    from: t.String(),
    to: t.String(),
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
    generated_at: t.String(),
  },
  { title: "Metrics" },
);
export type MetricsReport = Static<typeof MetricsReport>;
