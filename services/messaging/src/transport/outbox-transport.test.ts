import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readEml } from '../../test/read-eml.ts';
import type { OutgoingMail } from '../domain/outgoing-mail.ts';
import { createOutboxTransport, outboxFileName } from './outbox-transport.ts';

const mail: OutgoingMail = {
  from: { email: 'orders@shop.example.com', name: 'Oak & Ember' },
  to: { email: 'zoe@example.com', name: 'Zoë' },
  subject: 'Thank you for your order, Zoë!',
  text: 'Hi Zoë,\n- Mug × 2 — $15.00 each\n',
  html: '<p>Hi Zoë,</p>',
  categories: ['post-purchase-thank-you', 'transactional'],
  tags: { messageId: 'req-1', dedupeKey: 'thank-you:cust/1:order 1', campaignId: 'thank-you', customerId: 'cust/1' },
};

const LogLine = z.object({ msg: z.string(), path: z.string().optional(), messageId: z.string().optional() });

function capturingLogger(): { logger: pino.Logger; lines: z.infer<typeof LogLine>[] } {
  const lines: z.infer<typeof LogLine>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(LogLine.parse(JSON.parse(chunk.toString('utf8'))));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifecycle-outbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('outbox transport', () => {
  it('writes the message as an .eml file and logs where', async () => {
    const { logger, lines } = capturingLogger();
    const outbox = createOutboxTransport({ dir: join(dir, 'outbox'), logger, now: () => new Date('2025-11-23T09:28:00Z') });
    const outcome = await outbox.send(mail);
    const files = await readdir(join(dir, 'outbox'));
    expect(files).toEqual([outboxFileName(mail.tags.dedupeKey)]);
    const path = join(dir, 'outbox', files[0] ?? '');
    const eml = readEml(await readFile(path, 'utf8'));
    expect(eml.headers.get('subject')).toBe('Thank you for your order, Zoë!');
    expect(eml.headers.get('date')).toBe('Sun, 23 Nov 2025 09:28:00 +0000');
    expect(eml.parts[0]?.body).toContain('- Mug × 2 — $15.00 each');
    expect(outcome).toEqual({ kind: 'accepted', providerMessageId: expect.stringMatching(/^[0-9a-f]{32}@shop\.example\.com$/) });
    expect(eml.headers.get('message-id')).toBe(`<${outcome.kind === 'accepted' ? outcome.providerMessageId : ''}>`);
    expect(lines).toContainEqual({ msg: 'message written to outbox', path, messageId: 'req-1' });
  });

  it('makes its folder again when it was removed while the service runs', async () => {
    const { logger } = capturingLogger();
    const outbox = createOutboxTransport({ dir: join(dir, 'outbox'), logger, now: () => new Date() });
    expect(await outbox.send(mail)).toMatchObject({ kind: 'accepted' });
    await rm(join(dir, 'outbox'), { recursive: true });
    const second = { ...mail, tags: { ...mail.tags, dedupeKey: 'thank-you:cust/1:order 2' } };
    expect(await outbox.send(second)).toMatchObject({ kind: 'accepted' });
    expect(await readdir(join(dir, 'outbox'))).toEqual([outboxFileName(second.tags.dedupeKey)]);
  });

  it('writes one file per dedupe key, even when asked twice', async () => {
    const { logger } = capturingLogger();
    const outbox = createOutboxTransport({ dir, logger, now: () => new Date() });
    await outbox.send(mail);
    await outbox.send(mail);
    await outbox.send({ ...mail, tags: { ...mail.tags, dedupeKey: 'thank-you:cust/1:order 2' } });
    expect((await readdir(dir)).sort()).toEqual([outboxFileName('thank-you:cust/1:order 1'), outboxFileName('thank-you:cust/1:order 2')].sort());
  });

  it('names files safely whatever the dedupe key holds', () => {
    expect(outboxFileName('thank-you:cust/1:order 1')).toMatch(/^thank-you-cust-1-order-1-[0-9a-f]{12}\.eml$/);
    expect(outboxFileName('../../etc/passwd')).toMatch(/^etc-passwd-[0-9a-f]{12}\.eml$/);
    expect(outboxFileName('???')).toMatch(/^message-[0-9a-f]{12}\.eml$/);
    expect(outboxFileName('A:B')).not.toBe(outboxFileName('a:b'));
  });
});
