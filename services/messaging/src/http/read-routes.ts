import { asc, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { ConsentState, ConsentSource } from '@lifecycle/contracts';
import type { Database, FastifyInstance } from '@lifecycle/kit';
import { consent, consentHistory, sends, suppressions } from '../db/schema.ts';
import { marketingAllowed } from '../domain/consent.ts';

const CustomerParams = z.object({ id: z.string().min(1) });
/** About ten years of days: a longer period by day is a mistake, not a chart. */
const MAX_DAYS = 3_700;
const Period = z
  .object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) })
  .refine((p) => Date.parse(p.from) < Date.parse(p.to), { message: 'from must be before to', path: ['to'] })
  .refine((p) => (Date.parse(p.to) - Date.parse(p.from)) / 86_400_000 <= MAX_DAYS, { message: `at most ${MAX_DAYS} days`, path: ['to'] });

const iso = (at: Date | null): string | null => (at === null ? null : at.toISOString());

/**
 * The read API for the console: a customer's messages and consent, and messages per day. Each
 * table is read by the key it is kept under (sends and consent by customer id).
 */
export function readRoutes(opts: { db: Database }) {
  const { db } = opts;
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/customers/:id/messages', async (request, reply) => {
      const { id } = CustomerParams.parse(request.params);
      const rows = await db.select().from(sends).where(eq(sends.customerId, id)).orderBy(desc(sends.claimedAt), asc(sends.dedupeKey));
      if (rows.length === 0 && (await db.select({ id: consent.customerId }).from(consent).where(eq(consent.customerId, id))).length === 0) {
        return reply.status(404).send({ error: `messaging has no message or consent for customer ${id}` });
      }
      return {
        messages: rows.map((r) => ({
          messageId: r.messageId,
          dedupeKey: r.dedupeKey,
          campaignId: r.campaignId,
          templateId: r.templateId,
          status: r.status,
          providerMessageId: r.providerMessageId,
          requestedAt: r.claimedAt.toISOString(),
          // A sent row is not touched again: its last update is when messaging recorded it as sent.
          sentAt: r.status === 'sent' ? r.updatedAt.toISOString() : null,
          openedAt: iso(r.openedAt),
          clickedAt: iso(r.clickedAt),
          error: r.error,
        })),
      };
    });

    app.get('/customers/:id/consent', async (request, reply) => {
      const { id } = CustomerParams.parse(request.params);
      const [row] = await db.select().from(consent).where(eq(consent.customerId, id));
      const history = await db.select().from(consentHistory).where(eq(consentHistory.customerId, id)).orderBy(asc(consentHistory.sequence));
      if (row === undefined && history.length === 0) return reply.status(404).send({ error: `messaging has no consent for customer ${id}` });
      const state = ConsentState.nullable().parse(row?.state ?? null);
      // An opt-out kept for the address alone (from before consent was kept per customer) also stops marketing mail.
      const [addressSuppression] = row?.email == null ? [] : await db.select({ reason: suppressions.reason, since: suppressions.createdAt }).from(suppressions).where(eq(suppressions.email, row.email));
      return {
        customerId: id,
        email: row?.email ?? null,
        state,
        marketingAllowed: state === null ? null : marketingAllowed(state),
        sequence: row?.sequence ?? 0,
        preference: row?.preference ?? null,
        preferenceAt: iso(row?.preferenceAt ?? null),
        block: row?.block ?? null,
        blockAt: iso(row?.blockAt ?? null),
        addressSuppression: addressSuppression === undefined ? null : { reason: addressSuppression.reason, since: addressSuppression.since.toISOString() },
        // The preference center's choices (the defaults when never saved), and the double opt-in with its proof.
        preferences: { topicsOptedOut: row?.topicsOptedOut ?? [], frequency: row?.frequency ?? 'any', at: iso(row?.preferencesAt ?? null) },
        optIn: row?.optIn ?? null,
        optInProof: row?.optInProof ?? null,
        history: history.map((h) => ({
          sequence: h.sequence,
          state: ConsentState.parse(h.state),
          previousState: ConsentState.nullable().parse(h.previousState),
          marketingAllowed: marketingAllowed(ConsentState.parse(h.state)),
          source: ConsentSource.parse(h.source),
          consentAt: h.consentAt.toISOString(),
          recordedAt: h.recordedAt.toISOString(),
        })),
      };
    });

    // Every UTC day of the period, empty ones included, so a chart's axis has no gaps.
    app.get('/metrics/messages', async (request) => {
      const { from, to } = Period.parse(request.query);
      const rows = (
        await db.execute<{ day: string; campaign_id: string | null; sent: number }>(sql`
          WITH d AS (
            SELECT generate_series(date_trunc('day', ${from}::timestamptz AT TIME ZONE 'UTC'), (${to}::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC', interval '1 day') AS day
          ), m AS (
            SELECT date_trunc('day', ${sends.updatedAt} AT TIME ZONE 'UTC') AS day, ${sends.campaignId} AS campaign_id, count(*)::int AS sent
            FROM ${sends}
            WHERE ${sends.status} = 'sent' AND ${sends.updatedAt} >= ${from} AND ${sends.updatedAt} < ${to}
            GROUP BY 1, 2
          )
          SELECT to_char(d.day, 'YYYY-MM-DD') AS day, m.campaign_id, coalesce(m.sent, 0)::int AS sent
          FROM d LEFT JOIN m ON m.day = d.day
          ORDER BY d.day, m.campaign_id`)
      ).rows;
      const days: { day: string; byCampaign: Record<string, number> }[] = [];
      for (const row of rows) {
        if (days.at(-1)?.day !== row.day) days.push({ day: row.day, byCampaign: {} });
        const current = days.at(-1);
        if (row.campaign_id !== null && current !== undefined) current.byCampaign[row.campaign_id] = row.sent;
      }
      return { from, to, days };
    });
  };
}
