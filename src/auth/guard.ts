import { Elysia } from "elysia";
import { forbidden } from "../errors";
import type { Services } from "../services";
import type { AuthContext } from "./model";

export type { AuthContext } from "./model";

/**
 * Requires `Authorization: Bearer <access token>` on every route of the instance that `.use()`s it,
 * and gives handlers `auth: AuthContext`. Missing, invalid or expired tokens, deactivated users and
 * revoked devices answer 401 `unauthenticated`.
 *
 *     new Elysia().use(authGuard(s)).get("/api/things", ({ auth }) => s.things.list(auth))
 */
export const authGuard = (s: Pick<Services, "auth">) =>
  new Elysia().resolve({ as: "scoped" }, async ({ headers }) => ({ auth: await s.auth.authenticate(headers.authorization) }));

/** Like `authGuard`, and members get 403 `forbidden`: for routes only organization admins may call. */
export const adminGuard = (s: Pick<Services, "auth">) =>
  new Elysia().resolve({ as: "scoped" }, async ({ headers }) => {
    const auth = await s.auth.authenticate(headers.authorization);
    requireAdmin(auth);
    return { auth };
  });

/** Throws 403 `forbidden` unless the caller is an admin of their organization (for rules inside services). */
export function requireAdmin(auth: AuthContext): void {
  if (auth.role !== "admin") throw forbidden("only organization admins may do this");
}
