import { Elysia, t } from "elysia";
import { authGuard } from "../auth/guard";
import { ErrorBody } from "../http/errors";
import { envelope, PageQuery, pageFrom } from "../wire/pagination";
import { Query } from "../wire/query";
import { type HttpConfig, publicUrlOf } from "../http/public-url";
import { IdParams } from "../records/http";
import type { Services } from "../services";
import { CreateDeviceBody, DevicePage, DeviceView, toDeviceView } from "./model";

const detail = (summary: string) => ({ tags: ["devices"], summary });

/** The caller's devices: list, register, show, revoke. */
export const deviceRoutes = (s: Services, http: HttpConfig) =>
  new Elysia()
    .use(authGuard(s))
    .use(publicUrlOf(http))
    .get(
      "/api/devices",
      async ({ auth, query, publicUrl }) => {
        const page = pageFrom(query);
        const r = await s.devices.listMine(auth, page);
        return envelope(publicUrl(), page, { count: r.count, results: r.results.map(toDeviceView) });
      },
      { query: Query(PageQuery), response: { 200: DevicePage, 422: ErrorBody }, detail: detail("Your devices") },
    )
    .post(
      "/api/devices",
      async ({ auth, body, set }) => {
        const device = await s.devices.create(auth, body);
        set.status = 201;
        set.headers.location = `/api/devices/${device.id}`;
        return toDeviceView(device);
      },
      { body: CreateDeviceBody, response: { 201: DeviceView, 409: ErrorBody, 422: ErrorBody }, detail: detail("Register a device (its id keys vector clocks)") },
    )
    .get("/api/devices/:id", async ({ auth, params }) => toDeviceView(await s.devices.get(auth, params.id)), {
      params: IdParams,
      response: { 200: DeviceView, 404: ErrorBody },
      detail: detail("One of your devices (any device of the organization for admins)"),
    })
    .delete(
      "/api/devices/:id",
      async ({ auth, params, set }) => {
        await s.devices.revoke(auth, params.id);
        set.status = 204;
      },
      { params: IdParams, response: { 204: t.Void(), 404: ErrorBody }, detail: detail("Revoke a device: its tokens stop working") },
    );
