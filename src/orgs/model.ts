/** An organization: the tenant every other record belongs to. */
export interface Organization {
  id: string;
  name: string;
  slug: string;
  createdAt: string;
}
