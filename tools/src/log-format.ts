/**
 * Turns the services' pino JSON lines into one readable line each for the combined
 * `./lifecycle start` output:
 *
 *   09:31:02 ingestion  INFO  service started address=http://127.0.0.1:3001
 *
 * A line that is not a JSON object is passed through behind the same prefix, with OUT or ERR
 * (the stream it came from) in the level column.
 */

export interface LogFormatOptions {
  /** The service the line came from. */
  service: string;
  /** Service names are padded to this width so the columns line up. */
  nameWidth: number;
  /** ANSI colours, for a terminal. */
  color: boolean;
  /** ANSI colour code of the service name, e.g. 36 for cyan. */
  serviceColor?: number;
  /** The time zone the time column is shown in; the machine's when omitted. */
  timeZone?: string;
  /** The time shown on lines that carry none. */
  now?: () => Date;
}

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const levelColors: Record<string, number> = { TRACE: 90, DEBUG: 90, INFO: 32, WARN: 33, ERROR: 31, FATAL: 31, ERR: 31, OUT: 90 };

/** Fields that are already shown in the columns, or are noise in a local run. */
const shownElsewhere = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

/** The colours `./lifecycle start` gives the services, in catalogue order. */
export const serviceColors = [36, 35, 94, 95, 96, 34];

export function formatLogLine(line: string, stream: 'stdout' | 'stderr', opts: LogFormatOptions): string {
  const record = parseRecord(line);
  if (record === undefined) {
    const now = opts.now?.() ?? new Date();
    return `${prefix(formatTime(now, opts.timeZone), opts)} ${paint(opts.color, levelColors[stream === 'stderr' ? 'ERR' : 'OUT'], (stream === 'stderr' ? 'ERR' : 'OUT').padEnd(5))} ${line}`;
  }
  const level = levelName(record.level);
  const time = formatTime(recordTime(record.time) ?? opts.now?.() ?? new Date(), opts.timeZone);
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const fields: string[] = [];
  let stack: string | undefined;
  for (const [key, value] of Object.entries(record)) {
    if (shownElsewhere.has(key)) continue;
    if (key === 'service' && value === opts.service) continue;
    const error = errorParts(value);
    if ((key === 'err' || key === 'error') && error !== undefined) {
      fields.push(field(opts.color, key, error.message));
      stack ??= error.stack;
      continue;
    }
    fields.push(field(opts.color, key, value));
  }
  const head = `${prefix(time, opts)} ${paint(opts.color, levelColors[level], level.padEnd(5))} ${msg}`;
  const text = fields.length > 0 ? `${head} ${fields.join(' ')}` : head;
  if (stack === undefined) return text;
  const indented = stack
    .split('\n')
    .slice(1)
    .map((l) => `    ${l.trim()}`)
    .join('\n');
  return indented === '' ? text : `${text}\n${paint(opts.color, 90, indented)}`;
}

type LogRecord = Record<string, unknown> & { level: unknown };

function parseRecord(line: string): LogRecord | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('level' in value)) return undefined;
  return value;
}

function levelName(level: unknown): string {
  if (typeof level === 'number') return levelNames[level] ?? `L${level}`;
  if (typeof level === 'string') return level.toUpperCase();
  return '?';
}

function recordTime(time: unknown): Date | undefined {
  if (typeof time !== 'string' && typeof time !== 'number') return undefined;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

/** HH:MM:SS, 24-hour clock. */
export function formatTime(date: Date, timeZone?: string): string {
  const key = timeZone ?? '';
  let format = timeFormats.get(key);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone });
    timeFormats.set(key, format);
  }
  return format.format(date);
}

function prefix(time: string, opts: LogFormatOptions): string {
  const name = opts.service.padEnd(opts.nameWidth);
  return `${paint(opts.color, 90, time)} ${opts.serviceColor === undefined ? name : paint(opts.color, opts.serviceColor, name)}`;
}

function errorParts(value: unknown): { message: string; stack: string | undefined } | undefined {
  if (typeof value !== 'object' || value === null || !('message' in value) || typeof value.message !== 'string') return undefined;
  const stack = 'stack' in value && typeof value.stack === 'string' ? value.stack : undefined;
  const type = 'type' in value && typeof value.type === 'string' ? `${value.type}: ` : '';
  return { message: `${type}${value.message}`, stack };
}

function field(color: boolean, key: string, value: unknown): string {
  return `${paint(color, 90, `${key}=`)}${fieldValue(value)}`;
}

/** Bare words stay bare; anything with spaces, quotes or `=` is JSON-quoted so the line stays parseable by eye. */
export function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return String(value);
  return JSON.stringify(value);
}

function paint(color: boolean, code: number | undefined, text: string): string {
  return color && code !== undefined ? `\u001b[${code}m${text}\u001b[39m` : text;
}
