import { Elysia, t } from "elysia";
import { clientAddress } from "../wire/client-address";
import { ErrorBody } from "../http/errors";
import { originOf } from "../http/origin";
import type { HttpConfig } from "../http/public-url";
import type { Services } from "../services";
import { toUserView } from "../users/model";
import { logoutGuard } from "./guard";
import { LoginBody, RefreshBody, TokenResponse } from "./model";
import type { Session } from "./service";

const toTokenResponse = (s: Session): TokenResponse => ({
  access: s.access,
  refresh: s.refresh,
  token_type: "Bearer",
  expires_in: s.expiresIn,
  user: toUserView(s.user),
});

const detail = (summary: string) => ({ tags: ["auth"], summary });

/** The headers of an answer that carries tokens: no cache, a browser's or a proxy's, may store it (RFC 6749 §5.1; `Pragma` for HTTP/1.0 caches). */
const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" } as const;

/** `POST /api/auth/login`, `/refresh` (public) and `/logout` (needs the access token). */
export const authRoutes = (s: Services, http: HttpConfig) =>
  new Elysia()
    .post(
      "/api/auth/login",
      async ({ body, request, server, set }) => {
        const address = clientAddress(originOf(request, server).peer, request.headers.get("x-forwarded-for"), http.trustedProxies);
        const tokens = toTokenResponse(await s.auth.login(body, address));
        Object.assign(set.headers, NO_STORE);
        return tokens;
      },
      { body: LoginBody, response: { 200: TokenResponse, 401: ErrorBody, 422: ErrorBody }, detail: detail("Log in with email and password") },
    )
    .post(
      "/api/auth/refresh",
      async ({ body, set }) => {
        const tokens = toTokenResponse(await s.auth.refresh(body.refresh));
        Object.assign(set.headers, NO_STORE);
        return tokens;
      },
      {
        body: RefreshBody,
        response: { 200: TokenResponse, 401: ErrorBody, 422: ErrorBody },
        detail: detail("Exchange a refresh token for a new pair (rotation)"),
      },
    )
    .use(
      new Elysia().use(logoutGuard(s)).post(
        "/api/auth/logout",
        async ({ auth, body, set }) => {
          await s.auth.logout(auth, body.refresh);
          set.status = 204;
        },
        { body: RefreshBody, response: { 204: t.Void(), 422: ErrorBody }, detail: detail("Revoke the refresh token's family") },
      ),
    );
