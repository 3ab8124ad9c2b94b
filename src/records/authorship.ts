/**
 * Who may change a comment — one rule for REST, sync push and conflict resolutions (docs/records.md,
 * "Comment authorship"): its author may edit and delete it; an admin of the organization may delete
 * (moderate) any comment but never rewrite another user's text; anyone else is refused with 403
 * `forbidden`. Projects and tasks are shared by the organization: any member may change them.
 */
import { forbidden } from "../errors";
import type { Comment } from "./model";

/** Throws 403 `forbidden` unless `userId` wrote the comment: only its author may change its text. */
export function requireCommentAuthor(comment: Pick<Comment, "author_id">, userId: string): void {
  if (comment.author_id !== userId) throw forbidden("only its author may edit a comment");
}

/** Throws 403 `forbidden` unless `userId` wrote the comment or `admin` (an organization admin moderating) is true. */
export function requireCommentDeleter(comment: Pick<Comment, "author_id">, userId: string, admin: boolean): void {
  if (comment.author_id !== userId && !admin) throw forbidden("only its author or an organization admin may delete a comment");
}
