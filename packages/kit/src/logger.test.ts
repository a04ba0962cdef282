import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBaseApp } from './http.ts';
import { createLogger, REDACTED } from './logger.ts';

const LogLine = z.looseObject({ level: z.number(), msg: z.string().optional() });

function capture(): { stream: Writable; lines: () => z.infer<typeof LogLine>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const text = () => chunks.join('');
  return { stream, text, lines: () => text().split('\n').filter((l) => l !== '').map((l) => LogLine.parse(JSON.parse(l))) };
}

describe('the kit logger', () => {
  it('censors personal fields of a Segment call or a message request logged whole', () => {
    const { stream, lines, text } = capture();
    const logger = createLogger('test', 'info', stream);
    const call = { type: 'identify', userId: 'u-1', traits: { email: 'ann@example.com', first_name: 'Annabel' }, context: { ip: '203.0.113.9', traits: { last_name: 'Jones' } } };
    logger.warn({ call }, 'call refused');
    const request = { id: 'm-1', customerId: 'u-1', payload: { recipient: { email: 'ann@example.com', name: 'Annabel Jones' }, data: { customer: { id: 'u-1', firstName: 'Annabel' } } } };
    logger.info({ request }, 'request seen');
    logger.info({ email: 'ann@example.com', customerId: 'u-1' }, 'address checked');
    expect(lines()).toHaveLength(3);
    expect(text()).not.toMatch(/ann@example\.com|Annabel|Jones|203\.0\.113\.9/);
    const [first, second, third] = lines();
    expect(first).toMatchObject({ call: { type: 'identify', userId: 'u-1', traits: REDACTED, context: { ip: REDACTED, traits: REDACTED } } });
    expect(second).toMatchObject({ request: { id: 'm-1', customerId: 'u-1', payload: { recipient: REDACTED, data: { customer: REDACTED } } } });
    expect(third).toMatchObject({ email: REDACTED, customerId: 'u-1' });
  });

  it('keeps the fields named like personal ones that are not: a listen address, a step name', () => {
    const { stream, lines } = capture();
    const logger = createLogger('test', 'info', stream);
    logger.info({ address: 'http://127.0.0.1:3000', step: { name: 'consumers' } }, 'service started');
    expect(lines()[0]).toMatchObject({ address: 'http://127.0.0.1:3000', step: { name: 'consumers' } });
  });

  it('scrubs an address out of a message text', () => {
    const { stream, lines } = capture();
    createLogger('test', 'info', stream).warn('could not reach ann@example.com');
    expect(lines()[0]?.msg).toBe('could not reach [email]');
  });
});

describe('request logs of the kit HTTP app', () => {
  it('print the path without the query string, for known and unknown routes', async () => {
    const { stream, lines, text } = capture();
    const app = createBaseApp({ logger: createLogger('test', 'info', stream), readiness: {} });
    app.get('/unsubscribe', async () => ({ ok: true }));
    expect((await app.inject({ url: '/unsubscribe?token=abc.secret-token-value&email=ann%40example.com' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/preferences?token=abc.secret-token-value' })).statusCode).toBe(404);
    await app.close();
    const requests = lines().filter((l) => l.msg === 'incoming request');
    expect(requests.map((l) => l.req)).toEqual([expect.objectContaining({ method: 'GET', url: '/unsubscribe' }), expect.objectContaining({ method: 'GET', url: '/preferences' })]);
    expect(lines().find((l) => l.msg === 'route not found')).toMatchObject({ url: '/preferences' });
    expect(text()).not.toMatch(/secret-token-value|ann%40example\.com/);
  });
});
