import { describe, expect, it } from 'vitest';
import { classifyProviderStatus, isFinal, providerSettlesFrom, sendStatuses, settlesFrom, shouldSuppress, verdictForExistingClaim, type AttemptMemory } from './send-policy.ts';

describe('classifyProviderStatus', () => {
  it('treats 2xx as accepted, 429 and 5xx as worth retrying, other 4xx as final', () => {
    expect([200, 202].map(classifyProviderStatus)).toEqual(['accepted', 'accepted']);
    expect([429, 500, 502, 503].map(classifyProviderStatus)).toEqual(['retryable', 'retryable', 'retryable', 'retryable']);
    expect([400, 401, 403, 413].map(classifyProviderStatus)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
  });
});

describe('verdictForExistingClaim', () => {
  const notCalled: AttemptMemory = { claimToken: 't1', provider: 'not-called' };
  const answered: AttemptMemory = { claimToken: 't1', provider: 'answered', outcome: { status: 'sent', providerMessageId: 'sg-1' } };

  it('never sends again for a key that already has an outcome, whatever this process remembers', () => {
    for (const status of ['sent', 'failed', 'doubtful', 'suppressed'] as const) {
      expect(verdictForExistingClaim({ status, claimToken: 't1' }, undefined)).toEqual({ action: 'already-final', status });
      expect(verdictForExistingClaim({ status, claimToken: 't1' }, notCalled)).toEqual({ action: 'already-final', status });
    }
  });

  it('takes over a key claimed by an attempt that never reached the provider, so a blip before the call loses no mail', () => {
    expect(verdictForExistingClaim({ status: 'claimed', claimToken: 't1' }, undefined)).toEqual({ action: 'take-over' });
    expect(verdictForExistingClaim({ status: 'claimed', claimToken: null }, undefined)).toEqual({ action: 'take-over' });
  });

  it('marks a key left in sending as doubtful when no one here knows the provider call did not go out', () => {
    expect(verdictForExistingClaim({ status: 'sending', claimToken: 't1' }, undefined)).toEqual({ action: 'mark-doubtful' });
    expect(verdictForExistingClaim({ status: 'sending', claimToken: null }, undefined)).toEqual({ action: 'mark-doubtful' });
  });

  it('takes over a key left in sending when this process knows its own call never started or was refused', () => {
    expect(verdictForExistingClaim({ status: 'sending', claimToken: 't1' }, notCalled)).toEqual({ action: 'take-over' });
  });

  it('records the answer this process got but could not write down, instead of sending again', () => {
    expect(verdictForExistingClaim({ status: 'sending', claimToken: 't1' }, answered)).toEqual({ action: 'record-outcome', outcome: { status: 'sent', providerMessageId: 'sg-1' } });
  });

  it('ignores what this process remembers about another attempt’s claim', () => {
    expect(verdictForExistingClaim({ status: 'sending', claimToken: 't2' }, notCalled)).toEqual({ action: 'mark-doubtful' });
    expect(verdictForExistingClaim({ status: 'sending', claimToken: 't2' }, answered)).toEqual({ action: 'mark-doubtful' });
    expect(verdictForExistingClaim({ status: 'sending', claimToken: null }, notCalled)).toEqual({ action: 'mark-doubtful' });
  });
});

describe('settlesFrom', () => {
  it('lets only a provider call that started end sent or doubtful', () => {
    expect(settlesFrom('sent')).not.toContain('claimed');
    expect(settlesFrom('doubtful')).toEqual(['sending']);
  });

  it('lets no attempt change a final status', () => {
    for (const outcome of ['sent', 'failed', 'doubtful', 'suppressed'] as const) expect(settlesFrom(outcome).filter(isFinal)).toEqual([]);
  });

  it('lets the provider’s report that it took the message settle a doubtful, sending or released key as sent, and no other outcome', () => {
    expect([...providerSettlesFrom].sort()).toEqual(['claimed', 'doubtful', 'sending']);
    expect(providerSettlesFrom.filter(isFinal)).toEqual(['doubtful']);
  });

  it('suppresses only before the provider call, and fails before it or after a refusal', () => {
    expect(settlesFrom('suppressed')).toEqual(['claimed']);
    expect(settlesFrom('failed')).toEqual(['claimed', 'sending']);
  });

  it('knows which statuses are outcomes', () => {
    expect(sendStatuses.filter(isFinal)).toEqual(['sent', 'failed', 'doubtful', 'suppressed', 'skipped']);
  });
});

describe('shouldSuppress', () => {
  it('skips marketing mail to a suppressed address but still sends transactional mail', () => {
    expect(shouldSuppress('marketing', true)).toBe(true);
    expect(shouldSuppress('transactional', true)).toBe(false);
    expect(shouldSuppress('marketing', false)).toBe(false);
  });
});
