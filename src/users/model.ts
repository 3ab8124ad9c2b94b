import { t, type Static } from "elysia";
import { Paginated } from "../wire/pagination";
import { OneOf, Timestamp } from "../wire/schema";

/**
 * An email as it is stored and compared: without surrounding spaces, lowercased, in Unicode NFC, so
 * that "é" typed precomposed (U+00E9) or as "e" + U+0301 (text copied from a macOS file name) names
 * one account, not two that look the same. (Decomposed before lowercasing: canonically equivalent
 * inputs then lowercase alike, as Unicode's canonical caseless match does.)
 */
export const normalizeEmail = (email: string): string => email.trim().normalize("NFD").toLowerCase().normalize("NFC");

/**
 * The stored emails a typed `email` may name, its {@link normalizeEmail} form first, then (when it
 * differs) the form versions before NFC stored it in (trimmed and lowercased only): an account created
 * then with a decomposed email is still found with the email typed as before.
 */
export function emailLookupForms(email: string): string[] {
  const canonical = normalizeEmail(email);
  const earlier = email.trim().toLowerCase();
  return earlier === canonical ? [canonical] : [canonical, earlier];
}

export const ROLES = ["admin", "member"] as const;
export const Role = OneOf(ROLES);
export type Role = Static<typeof Role>;

/** A user on the wire. The password hash never leaves the repository's credential lookup. */
export const UserView = t.Object(
  {
    id: t.String(),
    email: t.String(),
    name: t.String(),
    role: Role,
    organization_id: t.String(),
    is_active: t.Boolean(),
    created_at: Timestamp(),
  },
  { title: "User" },
);
export type UserView = Static<typeof UserView>;

export const UserPage = Paginated(UserView, "UserPage");

/** A user as the services see it (no password hash). */
export interface User {
  id: string;
  orgId: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What `users.create` takes: from the CLI (`orgSlug`) or code that already knows the organization (`orgId`). */
export interface NewUser {
  orgSlug?: string;
  orgId?: string;
  email: string;
  name?: string;
  role?: Role;
  password: string;
}

export const toUserView = (u: User): UserView => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  organization_id: u.orgId,
  is_active: u.active,
  created_at: u.createdAt,
});
