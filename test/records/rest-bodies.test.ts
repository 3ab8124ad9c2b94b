/**
 * A record's REST bodies take what a push may set: a create (`POST`) every writable field of its kind, plus
 * an optional client-supplied `id`, requiring exactly the fields the entity requires on create
 * (`required` in src/records/entities.ts); a PATCH every writable field, optional, plus the `version`
 * lock. A field added to `<Entity>FieldProps` then reaches REST as it reaches sync, and a required field
 * is required alike by both.
 */
import { describe, expect, test } from "bun:test";
import type { TObject } from "@sinclair/typebox";
import { CommentCreateBody, CommentPatchBody } from "../../src/comments/model";
import { ProjectCreateBody, ProjectPatchBody } from "../../src/projects/model";
import { entityDef } from "../../src/records/entities";
import { type EntityKind, ENTITY_KINDS, writableFields } from "../../src/records/model";
import { TaskCreateBody, TaskPatchBody } from "../../src/tasks/model";

const BODIES: { [K in EntityKind]: { create: TObject; patch: TObject } } = {
  project: { create: ProjectCreateBody, patch: ProjectPatchBody },
  task: { create: TaskCreateBody, patch: TaskPatchBody },
  comment: { create: CommentCreateBody, patch: CommentPatchBody },
};

for (const kind of ENTITY_KINDS) {
  describe(kind, () => {
    const { create, patch } = BODIES[kind];
    test("a create takes every writable field and an id, requiring those the entity requires", () => {
      expect(Object.keys(create.properties)).toEqual(["id", ...writableFields(kind)]);
      expect([...(create.required ?? [])].sort()).toEqual([...entityDef(kind).required].sort());
      expect(create.additionalProperties).toBe(false);
    });
    test("a PATCH takes every writable field and the version lock, none required", () => {
      expect(Object.keys(patch.properties)).toEqual([...writableFields(kind), "version"]);
      expect(patch.required ?? []).toEqual([]);
      expect(patch.additionalProperties).toBe(false);
    });
  });
}
