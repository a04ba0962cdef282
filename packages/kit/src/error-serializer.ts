/**
 * Errors as they may be logged or put in a dead letter: codes and names kept, values dropped.
 *
 * A database error carries the values of the query that failed: drizzle's `DrizzleQueryError`
 * puts the bound parameters in its message and in `params`, PostgreSQL's `detail` says
 * `Key (email)=(ann@example.com) already exists`, `where` can quote a parameter, and pg-pool
 * attaches the whole `client` (connection parameters included) to an error of an idle client.
 * What an operator needs to find the cause is the SQL state, the constraint, the table and the
 * stack; those stay.
 */

export interface SerializedError {
  type: string;
  /** The message with its causes', scrubbed of values. */
  message: string;
  stack?: string;
  cause?: SerializedError;
  aggregateErrors?: SerializedError[];
  [field: string]: string | number | boolean | SerializedError | SerializedError[] | undefined;
}

/**
 * Fields that quote values. `query` is drizzle's SQL text (already in its scrubbed message),
 * `params` its bound values, `detail`/`where`/`hint`/`internalQuery` PostgreSQL's elaborations.
 */
const droppedFields = new Set([
  'params',
  'parameters',
  'values',
  'value',
  'query',
  'sql',
  'detail',
  'where',
  'hint',
  'internalQuery',
  'client',
  'connectionParameters',
  'password',
  'raw',
]);

const MAX_DEPTH = 5;
const REDACTED = '[redacted]';

/** An address anywhere in a text; a name cannot be recognised this way, so messages are also stripped of known value carriers. */
const emailPattern = /[^\s@"'`<>()[\]{},;:=]+@[^\s@"'`<>()[\]{},;:=]+\.[A-Za-z]{2,}/g;

/** Removes values from an error message: drizzle's `params:` tail, PostgreSQL's and JSON.parse's quoted input, any address. */
export function scrubErrorMessage(message: string, fromDatabase = false): string {
  // DrizzleQueryError: `Failed query: <sql with $1…>\nparams: ann@example.com,Ann`
  let text = message.replace(/\r?\nparams: [\s\S]*$/, '');
  // PostgreSQL puts the offending input at the end: `invalid input syntax for type uuid: "…"`.
  if (fromDatabase) text = text.replace(/: "[^\n]*"$/, `: "${REDACTED}"`);
  // V8's JSON.parse quotes the start of its input: `Unexpected token 'a', "ann@exampl"... is not valid JSON`.
  text = text.replace(/, "[^\n]*"(\.\.\.)? is not valid JSON$/, ' is not valid JSON');
  return text.replace(emailPattern, '[email]');
}

function isErrorLike(value: unknown): value is Record<string, unknown> & { message: string } {
  return typeof value === 'object' && value !== null && 'message' in value && typeof value.message === 'string';
}

/** pg's `DatabaseError`: a severity and a five-character SQL state. */
function isDatabaseError(err: Record<string, unknown>): boolean {
  return typeof err.severity === 'string' && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code);
}

function typeOf(err: Record<string, unknown>): string {
  const ctor = err.constructor;
  if (typeof ctor === 'function' && ctor.name !== '' && ctor.name !== 'Object') return ctor.name;
  return typeof err.name === 'string' ? err.name : 'Error';
}

function serialize(err: Record<string, unknown> & { message: string }, seen: Set<object>, depth: number): SerializedError {
  seen.add(err);
  const fromDatabase = isDatabaseError(err);
  const type = typeOf(err);
  const own = scrubErrorMessage(err.message, fromDatabase);
  const out: SerializedError = { type, message: own };
  // The stack repeats the raw message in its head: rebuild the head from the scrubbed one.
  if (typeof err.stack === 'string') out.stack = [`${type}: ${own}`, ...framesOf(err.stack)].join('\n');
  for (const key in err) {
    if (key === 'message' || key === 'stack' || key === 'cause' || key === 'errors' || droppedFields.has(key)) continue;
    const value = err[key];
    if (typeof value === 'string') out[key] = scrubErrorMessage(value);
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    else if (typeof value === 'bigint') out[key] = value.toString();
    // Objects (a client, a request, a response body) are left out: they are where values hide.
  }
  const cause = err.cause;
  if (isErrorLike(cause) && !seen.has(cause) && depth < MAX_DEPTH) {
    out.cause = serialize(cause, seen, depth + 1);
    out.message = `${own}: ${out.cause.message}`;
  }
  const errors = err.errors;
  if (Array.isArray(errors) && depth < MAX_DEPTH) {
    const aggregate = errors.filter(isErrorLike).filter((e) => !seen.has(e));
    if (aggregate.length > 0) out.aggregateErrors = aggregate.map((e) => serialize(e, seen, depth + 1));
  }
  return out;
}

function framesOf(stack: string): string[] {
  return stack.split('\n').filter((line) => /^\s+at /.test(line));
}

/**
 * A stack trace someone else formatted (kafkajs logs `e.stack` beside the error): its head
 * line(s) hold the raw message, so only the first line is kept, scrubbed, and then the frames.
 */
export function scrubStack(stack: string): string {
  const head = stack.split('\n', 1)[0] ?? '';
  return [scrubErrorMessage(head), ...framesOf(stack)].join('\n');
}

/**
 * The pino serializer for `err` (and `error`) fields: type, scrubbed message and stack, the SQL
 * state, constraint, table, schema, column and routine, and the other plain fields of the
 * error that do not quote values; its cause the same way. A string (kafkajs and the mail
 * transports log `error` as text) loses any address; anything else is returned unchanged.
 */
export function serializeError(err: unknown): unknown {
  if (typeof err === 'string') return scrubErrorMessage(err);
  if (!isErrorLike(err)) return err;
  return serialize(err, new Set(), 0);
}

/**
 * One line for a dead letter's `errors` or a row's `error` column: the scrubbed message with
 * its causes, and the SQL state when the database refused.
 */
export function describeError(err: unknown): string {
  if (!isErrorLike(err)) return scrubErrorMessage(String(err));
  const serialized = serialize(err, new Set(), 0);
  const code = sqlStateOf(serialized);
  return code === undefined ? serialized.message : `${serialized.message} (SQL state ${code})`;
}

function sqlStateOf(err: SerializedError): string | undefined {
  for (let e: SerializedError | undefined = err; e !== undefined; e = e.cause) {
    if (typeof e.code === 'string' && typeof e.severity === 'string') return e.code;
  }
  return undefined;
}
