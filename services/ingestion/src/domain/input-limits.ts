import { isUtf8 } from 'node:buffer';
import type { FieldIssue } from './validate-call.ts';

/**
 * How deeply a call's objects and arrays may nest, the call itself counting as level 1 (so
 * `properties` is level 2). Real calls use a handful of levels; far deeper input only serves to
 * exhaust the stack of whatever serializes it later.
 */
export const MAX_NESTING_DEPTH = 32;

/**
 * The longest id, in UTF-16 code units as JavaScript counts them: `messageId`, `userId`,
 * `anonymousId`, `previousId`, and any string whose key is `id` or ends in `_id`, `Id` or `ID`
 * (`order_id`, `product_id`, `cartId`), at any depth. The contracts use the same bound.
 */
export const MAX_ID_LENGTH = 200;

/** Issues reported per call at most; the walk stops there, so junk of any size costs little. */
export const MAX_INPUT_ISSUES = 10;

/** Path segments are shortened to this in messages, so a giant key cannot make a giant reason. */
const MAX_SEGMENT_LENGTH = 64;

/** The prefix of every reason given for a call rejected here, before any processing. */
export const INPUT_REJECTED = 'input not accepted';

const idKey = /^(id|Id|ID)$|_(id|Id|ID)$|[a-z0-9](Id|ID)$/;

/**
 * A path segment fit to print: control characters and lone surrogates become `\uXXXX` escapes
 * (a reason must not carry the very bytes it rejects downstream), and long keys are shortened.
 */
function printable(segment: string): string {
  let out = '';
  for (const ch of segment) {
    const code = ch.codePointAt(0) ?? 0;
    const lone = code >= 0xd800 && code <= 0xdfff;
    out += code < 0x20 || code === 0x7f || lone ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
    if (out.length > MAX_SEGMENT_LENGTH) return `${out.slice(0, MAX_SEGMENT_LENGTH)}…`;
  }
  return out;
}

interface PathNode {
  parent: PathNode | null;
  segment: string;
}

function pathOf(node: PathNode | null): string {
  const segments: string[] = [];
  for (let n = node; n !== null; n = n.parent) segments.push(printable(n.segment));
  return segments.length === 0 ? '(root)' : segments.reverse().join('.');
}

/** What is wrong with one string (a value or a key), if anything. */
function textProblem(text: string, invalidUtf8: boolean): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (!text.isWellFormed()) return 'contains a lone UTF-16 surrogate, which is not valid Unicode';
  // Only set when the record's bytes were not UTF-8: the decoder put U+FFFD where they were (a
  // U+FFFD the client really sent in another field of such a record is named too).
  if (invalidUtf8 && text.includes('\uFFFD')) return 'contains bytes that are not valid UTF-8';
  return null;
}

export interface ScreenOptions {
  /** The value was decoded from bytes that are not UTF-8: name the strings that hold U+FFFD. */
  invalidUtf8?: boolean;
}

/**
 * Finds what no later step should ever see, whatever the schema: NUL characters and lone
 * surrogates in any string or key, nesting deeper than {@link MAX_NESTING_DEPTH}, ids longer than
 * {@link MAX_ID_LENGTH}. Each issue names the field path. Walks with its own stack and never
 * descends past the depth limit, so pathological input cannot overflow the call stack.
 */
export function screenInput(value: unknown, opts: ScreenOptions = {}): FieldIssue[] {
  const invalidUtf8 = opts.invalidUtf8 ?? false;
  const issues: FieldIssue[] = [];
  const stack: { value: unknown; node: PathNode | null; level: number }[] = [{ value, node: null, level: 0 }];
  while (stack.length > 0 && issues.length < MAX_INPUT_ISSUES) {
    const item = stack.pop();
    if (item === undefined) break;
    const { node } = item;
    if (typeof item.value === 'string') {
      const problem = textProblem(item.value, invalidUtf8);
      if (problem !== null) issues.push({ field: pathOf(node), message: problem });
      else if (node !== null && item.value.length > MAX_ID_LENGTH && idKey.test(node.segment)) {
        issues.push({ field: pathOf(node), message: `ids are at most ${MAX_ID_LENGTH} characters, this one has ${item.value.length}` });
      }
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    const level = item.level + 1;
    if (level > MAX_NESTING_DEPTH) {
      issues.push({ field: pathOf(node), message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` });
      continue;
    }
    // Pushed last to first, so fields are visited (and reported) in the order the client wrote them.
    if (Array.isArray(item.value)) {
      for (let i = item.value.length - 1; i >= 0; i--) stack.push({ value: item.value[i], node: { parent: node, segment: String(i) }, level });
      continue;
    }
    const keys = Object.keys(item.value);
    const pending: FieldIssue[] = [];
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] ?? '';
      const childNode = { parent: node, segment: key };
      const problem = textProblem(key, invalidUtf8);
      if (problem === null) stack.push({ value: Reflect.get(item.value, key), node: childNode, level });
      else pending.unshift({ field: pathOf(childNode), message: `key ${problem}` });
    }
    issues.push(...pending);
  }
  return issues.slice(0, MAX_INPUT_ISSUES);
}

/** One line for a dead letter's or a 400's `reason`: what is wrong, with the first field named. */
export function inputRejectedReason(issues: FieldIssue[]): string {
  const [first] = issues;
  if (first === undefined) return INPUT_REJECTED;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${INPUT_REJECTED}: ${first.field}: ${first.message}${more}`;
}

export type DecodedRecord = { ok: true; value: unknown } | { ok: false; reason: string; issues: FieldIssue[] };

/**
 * Reads a record value as JSON and screens it. Bytes that are not UTF-8 are refused, naming the
 * strings they sit in, instead of being silently replaced by U+FFFD.
 */
export function decodeRecordValue(bytes: Buffer | null): DecodedRecord {
  if (bytes === null || bytes.length === 0) return { ok: false, reason: 'empty record value', issues: [] };
  const utf8 = isUtf8(bytes);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    // V8 parses iteratively today, but a parser that recursed would overflow the stack on depth.
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      const issues = [{ field: '(root)', message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` }];
      return { ok: false, reason: inputRejectedReason(issues), issues };
    }
    // V8 quotes the start of the input (`Unexpected token 'a', "ann@exampl"... is not valid JSON`): the
    // dead letter keeps the bytes, the message that reaches logs keeps only where and why.
    const message = (err instanceof Error ? err.message : String(err)).replace(/, "[^\n]*"(\.\.\.)? is not valid JSON$/, ' is not valid JSON');
    return { ok: false, reason: 'value is not valid JSON', issues: [{ field: '(root)', message }] };
  }
  const issues = screenInput(json, { invalidUtf8: !utf8 });
  // Undecodable bytes between tokens would have failed JSON.parse, so they sit in a string or key.
  if (!utf8 && issues.length === 0) issues.push({ field: '(root)', message: 'contains bytes that are not valid UTF-8' });
  if (issues.length > 0) return { ok: false, reason: inputRejectedReason(issues), issues };
  return { ok: true, value: json };
}
