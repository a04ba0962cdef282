import { randomBytes, randomUUID } from 'node:crypto';
import { createProducer } from '@lifecycle/kit';
import { OrderCompletedProperties, SegmentCall, topicName } from '@lifecycle/contracts';
import { adminKafka, ensureStackTopics } from './local-infra.ts';

export interface SampleOrderOptions {
  /** The customer; a fresh `sample-<hex>` id when omitted, so each sample is a first order. */
  userId?: string;
  email?: string;
  now?: Date;
}

/** A Segment `track` call for `Order Completed`, as a storefront's Segment source would send it. */
export function buildSampleOrder(opts: SampleOrderOptions = {}): Record<string, unknown> {
  const now = opts.now ?? new Date();
  const suffix = randomBytes(3).toString('hex');
  const userId = opts.userId ?? `sample-${suffix}`;
  const products = [
    { product_id: 'prod-1042', sku: 'TEE-ORG-BLK-M', name: 'Organic Cotton T-Shirt', price: 24, quantity: 2, category: 'Apparel' },
    { product_id: 'prod-2210', sku: 'MUG-STN-350', name: 'Stoneware Mug', price: 14.5, quantity: 1, category: 'Home' },
  ];
  const total = products.reduce((sum, p) => sum + p.price * p.quantity, 0);
  return {
    type: 'track',
    event: 'Order Completed',
    messageId: randomUUID(),
    timestamp: now.toISOString(),
    userId,
    context: {
      traits: { email: opts.email ?? `jane.doe+${suffix}@example.com`, first_name: 'Jane', last_name: 'Doe' },
      timezone: 'Europe/Amsterdam',
      locale: 'en-US',
      library: { name: 'lifecycle-sample-order', version: '1.0.0' },
    },
    properties: {
      order_id: `ORD-${now.getTime().toString(36).toUpperCase()}-${suffix.toUpperCase()}`,
      checkout_id: `chk-${suffix}`,
      total,
      revenue: total,
      currency: 'USD',
      products,
    },
  };
}

/** Checks a call against the contracts, as the ingestion service will; the error lists what is wrong. */
export function validateSampleOrder(call: Record<string, unknown>): SegmentCall {
  const parsed = SegmentCall.safeParse(call);
  if (!parsed.success) throw new Error(`the sample does not match SegmentCall: ${issues(parsed.error.issues)}`);
  if (parsed.data.type === 'track') {
    const properties = OrderCompletedProperties.safeParse(parsed.data.properties);
    if (!properties.success) throw new Error(`the sample's properties do not match OrderCompletedProperties: ${issues(properties.error.issues)}`);
  }
  return parsed.data;
}

function issues(list: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return list.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

export interface SentSample {
  topic: string;
  partition: number;
  offset: string;
  key: string;
}

/** Publishes the call to `commerce.events`, keyed by the user id, with the project's producer. */
export async function publishSampleOrder(brokers: string[], prefix: string, call: Record<string, unknown>): Promise<SentSample> {
  const valid = validateSampleOrder(call);
  const key = valid.userId ?? valid.anonymousId ?? '';
  // Idempotent, and lets a sample go out before the first `./lifecycle start`.
  await ensureStackTopics(brokers, prefix);
  const producer = createProducer(adminKafka(brokers));
  await producer.connect();
  try {
    const topic = topicName(prefix, 'commerceEvents');
    // The original call, not the parsed one: the parse applies defaults the producer would not send.
    const [meta] = await producer.send({ topic, messages: [{ key, value: JSON.stringify(call) }] });
    return { topic, partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? '?', key };
  } finally {
    await producer.disconnect();
  }
}
