import { pino, type DestinationStream, type LogFn, type Logger } from 'pino';
import { describeError, scrubErrorMessage, serializeError } from './error-serializer.ts';

export type { Logger };

/** What replaces a personal value in a log line. */
export const REDACTED = '[redacted]';

/** Keys that hold a person's data wherever they appear (top level and up to four levels down). */
const personalKeys = ['email', 'firstName', 'lastName', 'first_name', 'last_name', 'fullName', 'phone', 'birthday', 'traits', 'recipient', 'token', 'unsubscribeUrl', 'preferencesUrl', 'confirmUrl'];

/**
 * Paths pino censors before a line is written. A safety net under the rule that log calls name
 * ids, not people: a Segment call, a message request or its recipient logged whole by mistake
 * still prints no address or name. `name` and `address` are only censored where they mean a
 * person (a customer, a Segment call's traits), since elsewhere they are a step's or a socket's.
 */
export const redactedPaths: string[] = [
  ...personalKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`, `*.*.*.*.${key}`]),
  'customer.name',
  '*.customer.name',
  'data.customer',
  '*.data.customer',
  '*.*.data.customer',
  'context.ip',
  '*.context.ip',
  '*.*.context.ip',
];

/** JSON logs with the service name on every line; errors through the kit's serializer, personal fields censored. */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError, error: serializeError },
    redact: { paths: redactedPaths, censor: REDACTED },
    hooks: {
      // `logger.error(err)` makes the error's raw message the line's `msg`, and a message text
      // may quote an address: both are scrubbed like an error's message.
      logMethod(args: Parameters<LogFn>, method: LogFn): void {
        const [first, ...rest] = args;
        const scrubbed = rest.map((arg: unknown) => (typeof arg === 'string' ? scrubErrorMessage(arg) : arg));
        if (typeof first === 'string') return Reflect.apply(method, this, [scrubErrorMessage(first), ...scrubbed]);
        if (first instanceof Error && rest.length === 0) return Reflect.apply(method, this, [first, describeError(first)]);
        return Reflect.apply(method, this, [first, ...scrubbed]);
      },
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
