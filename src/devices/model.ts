import { t, type Static } from "elysia";
import { Paginated } from "../wire/pagination";
import { Nullable, Timestamp, Uuid } from "../wire/schema";
import { MAX_NAME, Text } from "../wire/text";

/** A device on the wire; its `id` is the key the device uses in vector clocks. */
export const DeviceView = t.Object(
  {
    id: t.String(),
    user_id: t.String(),
    name: t.String(),
    platform: t.Union([t.String(), t.Null()]),
    created_at: Timestamp(),
    last_seen_at: Nullable(Timestamp()),
    revoked_at: Nullable(Timestamp()),
  },
  { title: "Device" },
);
export type DeviceView = Static<typeof DeviceView>;

export const DevicePage = Paginated(DeviceView, "DevicePage");

export const CreateDeviceBody = t.Object(
  {
    id: t.Optional(Uuid),
    name: Text({ minLength: 1, maxLength: MAX_NAME, nonBlank: true }),
    platform: t.Optional(t.Union([Text({ maxLength: 100 }), t.Null()])),
  },
  { additionalProperties: false, title: "DeviceCreate" },
);
export type CreateDeviceBody = Static<typeof CreateDeviceBody>;

export interface Device {
  id: string;
  orgId: string;
  userId: string;
  name: string;
  platform: string | null;
  createdAt: string;
  lastSeenAt: string | null;
  revokedAt: string | null;
}

export const toDeviceView = (d: Device): DeviceView => ({
  id: d.id,
  user_id: d.userId,
  name: d.name,
  platform: d.platform,
  created_at: d.createdAt,
  last_seen_at: d.lastSeenAt,
  revoked_at: d.revokedAt,
});
