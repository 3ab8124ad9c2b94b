/**
 * Who may change a comment — one rule for REST, sync push and conflict resolutions (docs/records.md,
 * "Comment authorship"): its author may edit and delete it; an admin of the organization may delete
 * (moderate) any comment but never rewrite another user's text, and only an admin may bring back a
 * comment another user deleted (a moderation is undone by an admin, never by the author); anyone else
 * is refused with 403 `forbidden`. Projects and tasks are shared by the organization: any member may change them.
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

/**
 * Throws 403 `forbidden` unless `userId` may bring the deleted `comment` back: an admin, or its author
 * when no other user deleted it (`deleted_by` the author, or null: deleted by the server). Without the
 * second condition an author undid an admin's moderation at will: an update pushed against the version
 * before the deletion is a conflict about it, which its pusher resolved `local`.
 */
export function requireCommentRestorer(comment: Pick<Comment, "author_id" | "deleted_by">, userId: string, admin: boolean): void {
  if (admin) return;
  requireCommentDeleter(comment, userId, false);
  if (comment.deleted_by !== null && comment.deleted_by !== userId) throw forbidden("only an organization admin may bring back a comment another user deleted");
}
