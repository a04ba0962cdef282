import { describe, expect, it } from 'vitest';
import { classifyProviderStatus, shouldSuppress, verdictForExistingClaim } from './send-policy.ts';

describe('classifyProviderStatus', () => {
  it('treats 2xx as accepted, 429 and 5xx as worth retrying, other 4xx as final', () => {
    expect([200, 202].map(classifyProviderStatus)).toEqual(['accepted', 'accepted']);
    expect([429, 500, 502, 503].map(classifyProviderStatus)).toEqual(['retryable', 'retryable', 'retryable', 'retryable']);
    expect([400, 401, 403, 413].map(classifyProviderStatus)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
  });
});

describe('verdictForExistingClaim', () => {
  it('never sends again for a key that already has an outcome', () => {
    expect(verdictForExistingClaim('sent')).toEqual({ action: 'already-final', status: 'sent' });
    expect(verdictForExistingClaim('failed')).toEqual({ action: 'already-final', status: 'failed' });
    expect(verdictForExistingClaim('doubtful')).toEqual({ action: 'already-final', status: 'doubtful' });
    expect(verdictForExistingClaim('suppressed')).toEqual({ action: 'already-final', status: 'suppressed' });
  });

  it('marks a claim left in sending as doubtful rather than risk a second send', () => {
    expect(verdictForExistingClaim('sending')).toEqual({ action: 'mark-doubtful' });
  });
});

describe('shouldSuppress', () => {
  it('skips marketing mail to a suppressed address but still sends transactional mail', () => {
    expect(shouldSuppress('marketing', true)).toBe(true);
    expect(shouldSuppress('transactional', true)).toBe(false);
    expect(shouldSuppress('marketing', false)).toBe(false);
  });
});
