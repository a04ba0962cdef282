import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';

/** `column = ANY(ids)` with the ids as one JSON parameter rather than one parameter each. */
export function anyOf(column: SQLWrapper, ids: readonly string[]): SQL {
  return sql`${column} = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)))`;
}
