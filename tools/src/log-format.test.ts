import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fieldValue, formatLogLine, type LogFormatOptions } from './log-format.ts';

const plain: LogFormatOptions = { service: 'ingestion', nameWidth: 10, color: false, timeZone: 'UTC', now: () => new Date('2026-01-05T08:00:00Z') };

describe('formatLogLine', () => {
  it('shows time, padded service, level, message and the remaining fields', () => {
    const line = JSON.stringify({
      level: 30,
      time: '2026-01-05T09:31:02.123Z',
      service: 'ingestion',
      address: 'http://127.0.0.1:3001',
      msg: 'service started',
    });
    expect(formatLogLine(line, 'stdout', plain)).toBe('09:31:02 ingestion  INFO  service started address=http://127.0.0.1:3001');
  });

  it('names every pino level', () => {
    const names = [10, 20, 30, 40, 50, 60].map((level) =>
      formatLogLine(JSON.stringify({ level, time: '2026-01-05T09:31:02Z', msg: 'x' }), 'stdout', plain).slice(20, 25),
    );
    expect(names).toEqual(['TRACE', 'DEBUG', 'INFO ', 'WARN ', 'ERROR', 'FATAL']);
  });

  it('quotes values with spaces and prints objects as JSON', () => {
    const line = JSON.stringify({ level: 40, time: '2026-01-05T09:31:02Z', msg: 'record rejected', reason: 'not JSON', errors: ['a', 'b'], offset: 7 });
    expect(formatLogLine(line, 'stdout', plain)).toBe('09:31:02 ingestion  WARN  record rejected reason="not JSON" errors=["a","b"] offset=7');
  });

  it('shows an error message inline and its stack on the lines below', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at run (main.ts:1:1)\n    at next (main.ts:2:2)' };
    const line = JSON.stringify({ level: 50, time: '2026-01-05T09:31:02Z', msg: 'request failed', err });
    expect(formatLogLine(line, 'stdout', plain)).toBe(
      '09:31:02 ingestion  ERROR request failed err="Error: boom"\n    at run (main.ts:1:1)\n    at next (main.ts:2:2)',
    );
  });

  it('keeps a service field that names another service', () => {
    const line = JSON.stringify({ level: 30, time: '2026-01-05T09:31:02Z', service: 'kafkajs', msg: 'joined' });
    expect(formatLogLine(line, 'stdout', plain)).toBe('09:31:02 ingestion  INFO  joined service=kafkajs');
  });

  it('passes lines that are not JSON through behind the prefix, marked with their stream', () => {
    expect(formatLogLine('ingestion: failed to start: Error: nope', 'stderr', plain)).toBe(
      '08:00:00 ingestion  ERR   ingestion: failed to start: Error: nope',
    );
    expect(formatLogLine('{ not json', 'stdout', plain)).toBe('08:00:00 ingestion  OUT   { not json');
    expect(formatLogLine('{"no":"level"}', 'stdout', plain)).toBe('08:00:00 ingestion  OUT   {"no":"level"}');
  });

  it('colours the service and the level for a terminal', () => {
    const line = JSON.stringify({ level: 40, time: '2026-01-05T09:31:02Z', msg: 'slow' });
    const coloured = formatLogLine(line, 'stdout', { ...plain, color: true, serviceColor: 36 });
    expect(coloured).toContain('\u001b[36mingestion \u001b[39m');
    expect(coloured).toContain('\u001b[33mWARN \u001b[39m');
    expect(stripVTControlCharacters(coloured)).toBe('09:31:02 ingestion  WARN  slow');
  });
});

describe('fieldValue', () => {
  it('leaves bare words bare and quotes the rest', () => {
    expect(fieldValue('abc-123')).toBe('abc-123');
    expect(fieldValue('')).toBe('""');
    expect(fieldValue('a=b')).toBe('"a=b"');
    expect(fieldValue(null)).toBe('null');
    expect(fieldValue({ a: 1 })).toBe('{"a":1}');
  });
});
