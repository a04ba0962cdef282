import { desc } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import { auditLog } from './schema.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  target: Record<string, unknown>;
  result: 'ok' | 'failed';
  detail: Record<string, unknown>;
}

export interface AuditLog {
  record: (entry: AuditEntry) => Promise<number>;
  list: (limit: number) => Promise<(AuditEntry & { id: number; at: string })[]>;
}

export function auditLogRepository(db: Database): AuditLog {
  return {
    async record(entry) {
      const [row] = await db.insert(auditLog).values(entry).returning({ id: auditLog.id });
      if (row === undefined) throw new Error('audit_log insert returned no row');
      return row.id;
    },
    async list(limit) {
      const rows = await db.select().from(auditLog).orderBy(desc(auditLog.at), desc(auditLog.id)).limit(limit);
      return rows.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actor: r.actor,
        action: r.action,
        target: toRecord(r.target),
        result: r.result === 'ok' ? 'ok' : 'failed',
        detail: toRecord(r.detail),
      }));
    },
  };
}

function toRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value)) : {};
}
