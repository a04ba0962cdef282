import { bigserial, index, jsonb, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const consoleSchema = pgSchema('console');

/** What an operator did through the console (re-published dead letters), and how it went. */
export const auditLog = consoleSchema.table(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** Who: `operator` (one shared console password, no user accounts yet). */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: jsonb('target').notNull(),
    /** `ok` or `failed`. */
    result: text('result').notNull(),
    detail: jsonb('detail').notNull(),
  },
  (t) => [index('audit_log_at_idx').on(t.at)],
);
