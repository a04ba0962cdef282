import { describe, expect, it } from 'vitest';
import { assertNoPersonalData, findPersonalData } from './log-privacy.ts';

const personal = { emails: ['Mia.Chen@Example.com'], names: ['Mia'] };
const line = (level: number, fields: Record<string, unknown>) => JSON.stringify({ level, time: '2027-01-04T14:00:00.000Z', service: 'messaging', ...fields });

describe('the personal-data check of log output', () => {
  it('finds an address in any case, URL-encoded or in base64url, and a name as a word', () => {
    const output = [
      line(30, { msg: 'message sent', to: 'mia.chen@example.com' }),
      line(40, { msg: 'request', url: '/x?email=mia.chen%40example.com' }),
      line(30, { msg: 'unsubscribed', token: `${Buffer.from('mia.chen@example.com').toString('base64url')}.abc` }),
      line(50, { msg: 'render failed', error: 'Hello Mia, your order' }),
      'a stderr line about MIA',
    ];
    expect(findPersonalData(output, personal).leaks.map((l) => l.found)).toEqual(['Mia.Chen@Example.com', 'Mia.Chen@Example.com', 'Mia.Chen@Example.com', 'Mia', 'Mia']);
  });

  it('lets debug lines and words that merely contain a name pass, and counts what it checked', () => {
    const output = [line(20, { msg: 'composed', to: 'mia.chen@example.com' }), line(30, { msg: 'shipped to Miami', customerId: 'user-e2e' })].join('\n');
    expect(findPersonalData(output, personal)).toEqual({ checked: 1, leaks: [] });
    expect(assertNoPersonalData(output, personal)).toBe(1);
  });

  it('fails on a leak, and on nothing to check', () => {
    expect(() => assertNoPersonalData([line(30, { to: 'mia.chen@example.com' })], personal)).toThrow(/1 of 1 log lines above debug contain personal data:\n {2}Mia\.Chen@Example\.com in: /);
    expect(() => assertNoPersonalData([line(20, { msg: 'debug only' })], personal)).toThrow(/expected at least 1 log lines above debug to check, found 0/);
    expect(() => assertNoPersonalData([line(30, { msg: 'fine' })], personal, { minLines: 2 })).toThrow(/found 1/);
  });
});
