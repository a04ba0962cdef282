import { describe, expect, it } from 'vitest';
import { MessageEvent } from '@lifecycle/contracts';
import { messageStatusEvent } from './message-event.ts';

const outcome = { dedupeKey: 'thank-you:c1:o1', campaignId: 'thank-you', customerId: 'c1', messageId: 'req-1' };

describe('messageStatusEvent', () => {
  it('gives the same id to the same outcome reported twice, so consumers drop the repeat', () => {
    const first = messageStatusEvent({ ...outcome, status: 'sent', providerMessageId: 'sg-1' }, new Date('2025-01-01T00:00:00Z'));
    const again = messageStatusEvent({ ...outcome, status: 'sent', providerMessageId: 'sg-1' }, new Date('2025-01-02T00:00:00Z'));
    expect(again.id).toBe(first.id);
    expect(MessageEvent.parse(first)).toEqual(first);
    expect(first.payload).toEqual({ dedupeKey: 'thank-you:c1:o1', campaignId: 'thank-you', status: 'sent', providerMessageId: 'sg-1' });
  });

  it('carries the error of a failed message and no provider id', () => {
    const failed = messageStatusEvent({ ...outcome, status: 'failed', providerMessageId: null, error: 'bad from' }, new Date());
    expect(failed.payload).toEqual({ dedupeKey: 'thank-you:c1:o1', campaignId: 'thank-you', status: 'failed', error: 'bad from' });
    expect(failed.causationId).toBe('req-1');
  });

  it('says why a marketing message was suppressed, for the scheduler to count', () => {
    const suppressed = (error: string) => messageStatusEvent({ ...outcome, status: 'suppressed', error }, new Date()).payload.reason;
    expect(suppressed('recipient suppressed: topic_opt_out')).toBe('topic_opt_out');
    expect(suppressed('recipient suppressed: unconfirmed')).toBe('unconfirmed');
    expect(suppressed('recipient suppressed: unsubscribed')).toBe('unsubscribed');
  });
});

