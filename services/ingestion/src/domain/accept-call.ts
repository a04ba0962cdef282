import {
  customerIdOf,
  isKnownEvent,
  knownEventProperties,
  type LifecycleEvent,
  type SegmentCall,
} from '@lifecycle/contracts';

export type AcceptResult = { ok: true; event: LifecycleEvent } | { ok: false; reason: string; errors: string[] };

/**
 * Decides whether a Segment call (already valid against the common Spec fields) becomes a
 * lifecycle event. E-commerce Spec events Lifecycle knows must carry their documented
 * properties; unknown event names pass through as custom events.
 */
export function acceptCall(call: SegmentCall): AcceptResult {
  let normalized: SegmentCall = call;
  if (call.type === 'track' && isKnownEvent(call.event)) {
    const parsed = knownEventProperties[call.event].safeParse(call.properties);
    if (!parsed.success) {
      return {
        ok: false,
        reason: `"${call.event}" properties do not match the E-commerce Spec`,
        errors: parsed.error.issues.map((i) => `properties.${i.path.join('.')}: ${i.message}`),
      };
    }
    normalized = { ...call, properties: parsed.data };
  }
  return {
    ok: true,
    event: {
      // The messageId is the client's idempotency key, so it is the event's id all the way down.
      id: call.messageId,
      type: 'commerce.event',
      version: 1,
      occurredAt: new Date(call.timestamp).toISOString(),
      customerId: customerIdOf(call),
      causationId: call.messageId,
      payload: { call: normalized },
    },
  };
}
