import type { Executor } from "../db/types";
import { columnsOf, insertRow } from "../db/row";
import { notFound } from "../errors";
import { type Organization, slugKey } from "./model";

interface OrgRow {
  id: string;
  name: string;
  slug: string;
  created_at: string;
}

const COLUMNS = columnsOf<OrgRow>({ id: true, name: true, slug: true, created_at: true });
const COLS = COLUMNS.join(", ");
const toOrg = (r: OrgRow): Organization => ({ id: r.id, name: r.name, slug: r.slug, createdAt: r.created_at });
const orgRow = (o: Organization): OrgRow => ({ id: o.id, name: o.name, slug: o.slug, created_at: o.createdAt });

/** Organizations are the scope of everything else, so this repository is not constructed with an `orgId`. */
export class OrgRepo {
  constructor(private readonly exec: Executor) {}

  async find(id: string): Promise<Organization | undefined> {
    const r = await this.exec.get<OrgRow>(`SELECT ${COLS} FROM organizations WHERE id = ?`, [id]);
    return r && toOrg(r);
  }

  /** The organization of `slug`, in any letter case and with spaces around (slugs are stored lower-case). */
  async findBySlug(slug: string): Promise<Organization | undefined> {
    const r = await this.exec.get<OrgRow>(`SELECT ${COLS} FROM organizations WHERE slug = ?`, [slugKey(slug)]);
    return r && toOrg(r);
  }

  async mustGetBySlug(slug: string): Promise<Organization> {
    const org = await this.findBySlug(slug);
    if (!org) throw notFound(`organization "${slug}"`);
    return org;
  }

  async list(): Promise<Organization[]> {
    const rows = await this.exec.all<OrgRow>(`SELECT ${COLS} FROM organizations ORDER BY created_at, slug`);
    return rows.map(toOrg);
  }

  async hasAny(): Promise<boolean> {
    return (await this.exec.get("SELECT id FROM organizations LIMIT 1")) !== undefined;
  }

  /** Inserts the organization and its change-feed counter; false when the slug is taken. */
  async put(org: Organization): Promise<boolean> {
    if ((await insertRow(this.exec, "organizations", COLUMNS, orgRow(org), "ON CONFLICT (slug) DO NOTHING")) === 0) return false;
    await this.exec.run("INSERT INTO org_feed_state (org_id) VALUES (?)", [org.id]);
    return true;
  }
}
