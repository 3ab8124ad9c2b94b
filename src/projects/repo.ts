import { sqlOf } from "../db/dialect";
import type { Executor } from "../db/types";
import { type PageRequest, type PageResult, selectPage } from "../db/page";
import { type ListFilter, type OrderTerm, orderBy, Where, whereContains } from "../records/list";
import type { Project } from "../records/model";
import { RecordRepo } from "../records/repo";
import type { ProjectListQuery, ProjectOrderingField } from "./model";

/** The project list's filter: its query's parameters, parsed (the service's `list`). */
export type ProjectFilter = ListFilter<
  ProjectListQuery,
  { archived: boolean | undefined; search: string | undefined; include_deleted: boolean; ordering: OrderTerm<ProjectOrderingField>[] }
>;

const ORDER_COLUMNS: Record<ProjectOrderingField, { expr: string }> = {
  name: { expr: "name" },
  created_at: { expr: "created_at" },
  updated_at: { expr: "updated_at" },
};

/** Projects of one organization: the generic record access plus the filtered list. */
export class ProjectRepo extends RecordRepo<"project"> {
  constructor(exec: Executor, orgId: string) {
    super(exec, orgId, "project");
  }

  async list(f: ProjectFilter, page: PageRequest): Promise<PageResult<Project>> {
    const w = new Where().add("org_id = ?", this.orgId);
    if (!f.include_deleted) w.add("deleted_at IS NULL");
    if (f.archived !== undefined) w.add("archived = ?", f.archived ? 1 : 0);
    if (f.search) whereContains(w, sqlOf(this.exec), ["name", "description"], f.search);
    return selectPage(this.exec, { columns: this.cols, from: "projects", ...w.query, orderBy: orderBy(f.ordering, ORDER_COLUMNS), byKey: this.pageById }, page, (r: Record<string, unknown>) => this.def.fromRow(r));
  }
}
