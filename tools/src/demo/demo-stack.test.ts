import { describe, expect, it } from 'vitest';
import { readStackConfig } from '../stack-config.ts';
import { defaultDemoStore, demoStackEnv, planDemoStack, whereToLook } from './demo-stack.ts';

describe('whether the demo starts a stack of its own', () => {
  it('starts one when no service answers, uses the stack when all do, and names the missing ones of a partial stack', () => {
    expect(planDemoStack([])).toEqual({ kind: 'start' });
    expect(planDemoStack(['ingestion', 'classifier', 'scheduler', 'messaging'])).toEqual({ kind: 'use-running' });
    expect(planDemoStack(['ingestion', 'scheduler'])).toEqual({ kind: 'partial', answering: ['ingestion', 'scheduler'], silent: ['classifier', 'messaging'] });
  });
});

describe('the demo’s own stack', () => {
  const config = readStackConfig({ DATABASE_URL: 'postgres://me:secret@db.example.com:5433/lifecycle' });
  const store = defaultDemoStore(config);

  it('keeps its data beside the stack’s: database lifecycle_demo on the same server, topics under demo.', () => {
    expect(store.databaseUrl).toBe('postgres://me:secret@db.example.com:5433/lifecycle_demo');
    expect(store.topicPrefix).toBe('demo.');
  });

  it('runs a simulated clock from the day before the year, on the demo’s store, and never sends real mail', () => {
    const env = demoStackEnv({ SENDGRID_API_KEY: 'SG.real', TOPIC_PREFIX: 'prod.', HOME: '/home/me' }, store, '2031-03-01');
    expect(env).toMatchObject({ CLOCK: 'simulated', CLOCK_START: '2031-02-28T00:00:00Z', DATABASE_URL: store.databaseUrl, TOPIC_PREFIX: 'demo.', OUTBOX_DIR: store.outboxDir, LOG_LEVEL: 'warn', HOME: '/home/me' });
    expect(env).not.toHaveProperty('SENDGRID_API_KEY');
    expect(demoStackEnv({ LOG_LEVEL: 'debug' }, store, '2031-03-01').LOG_LEVEL).toBe('debug');
  });

  it('says where to look without the database password', () => {
    const urls = { ingestion: 'http://127.0.0.1:3001', classifier: 'http://127.0.0.1:3002', scheduler: 'http://127.0.0.1:3003', messaging: 'http://127.0.0.1:3004' };
    const text = whereToLook(urls, store, ['127.0.0.1:9092']).join('\n');
    expect(text).toContain('http://127.0.0.1:3003/campaigns');
    expect(text).toContain('http://127.0.0.1:3002/stages');
    expect(text).toContain('postgres://me:***@db.example.com:5433/lifecycle_demo');
    expect(text).toContain('prefix demo. on 127.0.0.1:9092');
    expect(text).toContain('Ctrl-C');
    expect(text).not.toContain('secret');
  });
});
