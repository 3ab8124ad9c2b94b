/** An organization: the tenant every other record belongs to. */
export interface Organization {
  id: string;
  name: string;
  slug: string;
  createdAt: string;
}

/** How a slug given to find an organization is read: trimmed, in any letter case (slugs are stored in lower case). */
export const slugKey = (slug: string): string => slug.trim().toLowerCase();
