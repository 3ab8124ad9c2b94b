import { alreadyExists, invalid } from "../errors";
import { newId } from "../ids";
import type { Deps } from "../deps";
import { BLANK_REASON, characters, MAX_NAME, storedName } from "../wire/text";
import { generatePassword, type PasswordHasher } from "../users/password";
import { UserRepo } from "../users/repo";
import type { Organization } from "./model";
import { OrgRepo } from "./repo";

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_SLUG = 63;

/** The account a fresh installation starts with; `serve` prints it once. */
export interface BootstrapAccount {
  orgSlug: string;
  email: string;
  password: string;
}

const BOOTSTRAP_ORG = { name: "Default", slug: "default" } as const;
const BOOTSTRAP_EMAIL = "admin@localhost";

/** Latin letters that no decomposition turns into ASCII ones. */
const LATIN_LETTERS: Record<string, string> = { ß: "ss", æ: "ae", œ: "oe", ø: "o", ł: "l", đ: "d", ð: "d", þ: "th", ı: "i" };

/** A URL-safe slug from a display name: "Acme Café, Inc." → "acme-cafe-inc", "Straße" → "strasse" ("org" when nothing is left). */
export function slugify(name: string): string {
  const s = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[ßæœøłđðþı]/g, (c) => LATIN_LETTERS[c] ?? c)
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, MAX_SLUG - 4)
    .replace(/^-+|-+$/g, "");
  return s || "org";
}

/** Organizations: creation (with their change-feed counter), listing, and the first-run bootstrap. */
export class OrgService {
  constructor(
    private readonly deps: Deps,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * Creates an organization. An explicit `slug` must be free (409 `already_exists` otherwise);
   * without one it is derived from the name, with `-2`, `-3`… appended until free.
   */
  async create(name: string, slug?: string): Promise<Organization> {
    const display = storedName(name);
    if (display === "" && name !== "") throw invalid({ name: BLANK_REASON });
    if (display === "" || characters(display) > MAX_NAME) throw invalid({ name: `must be 1 to ${MAX_NAME} characters` });
    if (slug !== undefined && (!SLUG.test(slug) || slug.length > MAX_SLUG)) {
      throw invalid({ slug: `must be lowercase letters, digits and single dashes, at most ${MAX_SLUG} characters` });
    }
    const createdAt = this.deps.clock.now().toISOString();
    return this.deps.db.transaction(async (tx) => {
      const repo = new OrgRepo(tx);
      const candidates = slug !== undefined ? [slug] : derivedSlugs(slugify(display));
      for (const s of candidates) {
        const org: Organization = { id: newId(), name: display, slug: s, createdAt };
        if (await repo.put(org)) return org;
      }
      throw alreadyExists(`organization slug "${slug ?? slugify(display)}" is taken`, "slug");
    });
  }

  list(): Promise<Organization[]> {
    return new OrgRepo(this.deps.db).list();
  }

  findBySlug(slug: string): Promise<Organization | undefined> {
    return new OrgRepo(this.deps.db).findBySlug(slug);
  }

  /** The organization with this slug; 404 `not_found` otherwise. */
  mustGetBySlug(slug: string): Promise<Organization> {
    return new OrgRepo(this.deps.db).mustGetBySlug(slug);
  }

  /**
   * On a database without any organization, creates "Default" (slug `default`) and an admin
   * `admin@localhost` with a generated password, and returns that account. Returns null when an
   * organization exists (also when another process won the race).
   *
   * `show` is called with the account inside the transaction, once both rows are written and just
   * before COMMIT — the one effect that does not wait for the commit: shown after it, a kill between
   * the two (a SIGKILL cannot be held off) left an account whose password nobody ever saw, and the
   * next start, finding the database not empty, shows nothing. Shown before it, a COMMIT that then
   * fails leaves a shown password of no account, and the next start creates and shows another. A
   * throw from `show` rolls everything back; COMMIT waits for the promise it may answer (the
   * account shown, not only handed over).
   */
  async ensureBootstrap(show: (account: BootstrapAccount) => unknown = () => {}): Promise<BootstrapAccount | null> {
    if (await new OrgRepo(this.deps.db).hasAny()) return null;
    const password = generatePassword();
    const hash = await this.hasher.hash(password);
    const now = this.deps.clock.now().toISOString();
    return this.deps.db.transaction(async (tx) => {
      const orgs = new OrgRepo(tx);
      if (await orgs.hasAny()) return null;
      const org: Organization = { id: newId(), ...BOOTSTRAP_ORG, createdAt: now };
      if (!(await orgs.put(org))) return null;
      const admin = { id: newId(), orgId: org.id, email: BOOTSTRAP_EMAIL, name: "Administrator", role: "admin" as const, active: true, createdAt: now, updatedAt: now };
      if (!(await new UserRepo(tx, org.id).put(admin, hash))) throw alreadyExists(`${BOOTSTRAP_EMAIL} already exists`, "email", "already registered");
      tx.afterCommit(() => this.deps.log.info("bootstrap_created", { org_id: org.id, user_id: admin.id }));
      const account = { orgSlug: org.slug, email: BOOTSTRAP_EMAIL, password };
      await show(account);
      return account;
    });
  }
}

/**
 * The slugs tried for `base` (from {@link slugify}): itself, then `-2` … `-1000`, the base shortened
 * where the suffix would take the slug past {@link MAX_SLUG} (`-1000` is one character longer than
 * slugify leaves room for).
 */
function* derivedSlugs(base: string): Generator<string> {
  yield base;
  for (let n = 2; n <= 1000; n++) {
    const suffix = `-${n}`;
    yield `${base.slice(0, MAX_SLUG - suffix.length).replace(/-+$/, "")}${suffix}`;
  }
}
