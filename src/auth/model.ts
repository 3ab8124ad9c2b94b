import { t, type Static } from "elysia";
import { Nullable, Uuid } from "../wire/schema";
import { Text } from "../wire/text";
import { type Role, UserView } from "../users/model";

/** Who is calling, resolved from the access token and re-checked against the database on every request. */
export interface AuthContext {
  userId: string;
  orgId: string;
  role: Role;
  /** The device bound to the token at login, or null for a token without one. */
  deviceId: string | null;
  email: string;
}

export const LoginBody = t.Object(
  {
    email: Text({ minLength: 1, maxLength: 320 }),
    password: Text({ minLength: 1, maxLength: 1024 }),
    device_id: t.Optional(Nullable(Uuid)),
  },
  { additionalProperties: false, title: "Login" },
);
export type LoginBody = Static<typeof LoginBody>;

/** `POST /api/auth/refresh` and `POST /api/auth/logout`. */
export const RefreshBody = t.Object({ refresh: Text({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false, title: "RefreshToken" });

export const TokenResponse = t.Object(
  {
    access: t.String(),
    refresh: t.String(),
    token_type: t.Literal("Bearer"),
    expires_in: t.Integer(),
    user: UserView,
  },
  { title: "Tokens" },
);
export type TokenResponse = Static<typeof TokenResponse>;
