import { eq } from 'drizzle-orm';
import { MessageEvent, type MessageRequested } from '@lifecycle/contracts';
import type { Database } from '@lifecycle/kit';
import type { ReceivedRecord } from '@lifecycle/tools/test-kit';
import { sends, type SendRow } from '../src/db/schema.ts';

/** A `messages.requested` record for a post-purchase thank-you, unique per `n`. */
export function thankYouRequest(n: string, overrides: Partial<MessageRequested['payload']> = {}): MessageRequested {
  const customerId = `cust-${n}`;
  return {
    id: `req-${n}`,
    type: 'message.requested',
    version: 1,
    occurredAt: new Date().toISOString(),
    customerId,
    causationId: `stage-${n}`,
    payload: {
      dedupeKey: `post-purchase:${customerId}:order-${n}`,
      campaignId: 'post-purchase',
      templateId: 'post-purchase-thank-you',
      category: 'transactional',
      recipient: { email: `ada.${n}@example.com`, name: 'Ada Lovelace' },
      locale: 'en-US',
      timeZone: 'Europe/Berlin',
      data: {
        customer: { id: customerId, email: `ada.${n}@example.com`, firstName: 'Ada', name: 'Ada Lovelace' },
        order: {
          orderId: `order-${n}`,
          total: 59.85,
          currency: 'USD',
          products: [
            { name: 'Ceramic Dripper', quantity: 1, price: 32, sku: 'DRIP-01' },
            { name: 'Paper Filters', quantity: 3, price: 9.28 },
          ],
        },
      },
      ...overrides,
    },
  };
}

export async function sendRow(db: Database, dedupeKey: string): Promise<SendRow | undefined> {
  const [row] = await db.select().from(sends).where(eq(sends.dedupeKey, dedupeKey));
  return row;
}

export function statusEvents(records: ReceivedRecord[], dedupeKey: string): MessageEvent[] {
  return records.map((r) => MessageEvent.parse(JSON.parse(r.value))).filter((e) => e.payload.dedupeKey === dedupeKey);
}
