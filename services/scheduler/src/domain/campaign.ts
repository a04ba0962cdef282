import { z } from 'zod';
import { OrderCompletedProperties, type LifecycleEvent } from '@lifecycle/contracts';
import { parseDuration } from './duration.ts';

const Duration = z.string().transform((text, ctx) => {
  const parsed = parseDuration(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  }
  return parsed.ms;
});

/** A campaign as marketers write it in `campaigns/<id>.yaml`. */
export const Campaign = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
  name: z.string().min(1),
  enabled: z.boolean().default(true),
  /** A folder under templates/. */
  template: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'name a folder under templates/'),
  category: z.enum(['transactional', 'marketing']),
  trigger: z.strictObject({ event: z.string().min(1) }),
  /** How long after the trigger the message is due. */
  delay: Duration.default(0),
});
export type Campaign = z.infer<typeof Campaign>;

/** A message to send later, planned from a trigger event. */
export interface PlannedJob {
  /** Campaign, customer and trigger: planning the same trigger twice gives the same key. */
  dedupeKey: string;
  campaignId: string;
  customerId: string;
  triggerEventId: string;
  dueAt: Date;
  /** The trigger's part of the template data; the customer's part is read when the job fires. */
  triggerData: Record<string, unknown>;
}

/** Order data for templates, in the shape the templates read. */
function orderData(properties: Record<string, unknown>): Record<string, unknown> | null {
  const parsed = OrderCompletedProperties.safeParse(properties);
  if (!parsed.success) return null;
  const order = parsed.data;
  return {
    order: {
      orderId: order.order_id,
      total: order.total,
      currency: order.currency,
      products: order.products.map((p) => ({ name: p.name ?? p.sku ?? 'Item', quantity: p.quantity, price: p.price, sku: p.sku, url: p.url, imageUrl: p.image_url })),
    },
  };
}

/** The job a campaign plans for an event, or null when the event does not trigger it. */
export function planJob(campaign: Campaign, event: LifecycleEvent): PlannedJob | null {
  const { call } = event.payload;
  if (!campaign.enabled || call.type !== 'track' || call.event !== campaign.trigger.event) return null;
  const triggerData = call.event === 'Order Completed' ? orderData(call.properties) : { event: { name: call.event, properties: call.properties } };
  if (triggerData === null) return null;
  return {
    dedupeKey: `${campaign.id}:${event.customerId}:${event.id}`,
    campaignId: campaign.id,
    customerId: event.customerId,
    triggerEventId: event.id,
    dueAt: new Date(new Date(event.occurredAt).getTime() + campaign.delay),
    triggerData,
  };
}
