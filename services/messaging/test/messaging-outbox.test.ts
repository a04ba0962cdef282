import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { startMessaging, type Messaging } from '../src/service.ts';
import { loadConfig } from '../src/config.ts';
import { readEml } from './read-eml.ts';
import { sendRow, statusEvents, thankYouRequest } from './message-requests.ts';

const LogLine = z.looseObject({ msg: z.string(), path: z.string().optional(), messageId: z.string().optional() });
type LogLine = z.infer<typeof LogLine>;

let infra: TestInfra;
let outboxDir: string;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let events: Awaited<ReturnType<typeof collectTopic>>;
const logs: LogLine[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  outboxDir = await mkdtemp(join(tmpdir(), 'lifecycle-outbox-'));
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0', OUTBOX_DIR: outboxDir });
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(LogLine.parse(JSON.parse(chunk.toString('utf8'))));
      done();
    },
  });
  const logger = pino({ level: 'info', base: { service: 'messaging' } }, logStream);
  runtime = await openRuntime({ service: 'messaging', config, logger, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({ runtime, config });
  producer = await connectedProducer(infra);
  events = await collectTopic(infra, 'messageEvents');
});

afterAll(async () => {
  await Promise.all([events?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.stop();
  await runtime?.close();
  await rm(outboxDir, { recursive: true, force: true });
});

describe('messaging without a SendGrid key', () => {
  it('uses the outbox', () => {
    expect(service.transport.name).toBe('outbox');
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'mail transport selected', transport: 'outbox', outboxDir }));
  });

  it('writes one .eml per message with the subject and order lines, logs its path, and sends nothing twice', async () => {
    const req = thankYouRequest('outbox', {
      recipient: { email: 'zoe@example.com', name: 'Zoë Müller' },
      data: {
        customer: { id: 'cust-outbox', email: 'zoe@example.com', firstName: 'Zoë' },
        order: { orderId: 'OE-77', total: 41.5, currency: 'EUR', products: [{ name: 'Crème brûlée torch', quantity: 1, price: 41.5 }] },
      },
    });
    await publish(producer, infra.prefix, 'messagesRequested', [req]);
    await eventually(() => expect(statusEvents(events.records, req.payload.dedupeKey).map((e) => e.payload.status)).toEqual(['sent']), 30_000);

    const files = await readdir(outboxDir);
    expect(files).toHaveLength(1);
    const path = join(outboxDir, files[0] ?? '');
    expect(logs.filter((l) => l.msg === 'message written to outbox')).toEqual([expect.objectContaining({ path, messageId: req.id })]);

    const eml = readEml(await readFile(path, 'utf8'));
    expect(eml.headers.get('subject')).toBe('Thank you for your order, Zoë!');
    expect(eml.headers.get('to')).toBe('Zoë Müller <zoe@example.com>');
    expect(eml.headers.get('from')).toBe('"Oak & Ember" <orders@oakandember.example.com>');
    expect(eml.parts[0]?.body).toContain('- Crème brûlée torch × 1 — €41.50 each');
    expect(eml.parts[0]?.body).toContain('Total: €41.50');
    expect(eml.parts[1]?.body).toContain('Crème brûlée torch');
    const row = await sendRow(runtime.db, req.payload.dedupeKey);
    expect(row).toMatchObject({ status: 'sent', providerMessageId: eml.headers.get('message-id')?.slice(1, -1) });

    await publish(producer, infra.prefix, 'messagesRequested', [req]);
    const marker = thankYouRequest('outbox-marker');
    await publish(producer, infra.prefix, 'messagesRequested', [{ ...marker, customerId: req.customerId }]);
    await eventually(() => expect(logs.filter((l) => l.msg === 'message written to outbox')).toHaveLength(2), 30_000);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'message already handled, nothing sent', messageId: req.id, dedupeKey: req.payload.dedupeKey }));
    expect(await readdir(outboxDir)).toHaveLength(2);
  });

  it('keeps email addresses and names out of logs above debug', () => {
    const text = JSON.stringify(logs);
    expect(text).not.toContain('@example.com');
    expect(text).not.toContain('Zoë');
  });
});
