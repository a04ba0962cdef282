import type { z } from 'zod';
import { DEFAULT_CURRENCY, isKnownEvent, knownEventProperties, movesOrderValue, orderEventValue, SegmentCall, type Normalized, type Traits } from '@lifecycle/contracts';
import { decodeRecordValue, inputRejectedReason, screenInput } from './input-limits.ts';
import { normalizeBirthday, normalizeCurrency, normalizeLocale, normalizeTimeZone, normalizeTimestamp, toMinorUnits } from './normalize.ts';

/** One thing wrong with a call: the field (dotted path) and why. */
export interface FieldIssue {
  field: string;
  message: string;
}

export type Validation = { ok: true; call: SegmentCall } | { ok: false; reason: string; issues: FieldIssue[] };

export const SPEC_MISMATCH = 'call does not match the Segment Spec';

export function issuesOf(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
    return { field: path === '' ? '(root)' : path, message: i.message };
  });
}

export function issueLines(issues: FieldIssue[]): string[] {
  return issues.map((i) => `${i.field}: ${i.message}`);
}

/** Validates and normalizes any value as a Segment call. Never throws. */
export function validateCall(raw: unknown): Validation {
  // Before the schema: what it would pass (a NUL in a custom property, a deep object) must still stop here.
  const unsafe = screenInput(raw);
  if (unsafe.length > 0) return { ok: false, reason: inputRejectedReason(unsafe), issues: unsafe };
  const parsed = SegmentCall.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: SPEC_MISMATCH, issues: issuesOf(parsed.error) };
  return normalizeCall(parsed.data);
}

/**
 * Reads a `commerce.events` record value: UTF-8 JSON, screened by the input limits, then the
 * common Spec fields. Needs no database, so whatever it refuses is refused on the first try.
 * Never throws.
 */
export function readCallRecord(bytes: Buffer | null): { ok: true; call: SegmentCall } | { ok: false; reason: string; issues: FieldIssue[] } {
  const decoded = decodeRecordValue(bytes);
  if (!decoded.ok) return decoded;
  const parsed = SegmentCall.safeParse(decoded.value);
  if (!parsed.success) return { ok: false, reason: 'value does not match the topic schema', issues: issuesOf(parsed.error) };
  return { ok: true, call: parsed.data };
}

/** Money properties of the E-commerce Spec, in major units as clients send them. */
const moneyKeys = ['total', 'subtotal', 'revenue', 'value', 'shipping', 'tax', 'discount', 'price'] as const;

/**
 * Amounts in minor units. For the events Lifecycle knows a bad currency or amount is an error;
 * a custom event's money is converted when it can be and otherwise left alone, since its
 * `currency` may mean something else (points, credits).
 */
function moneyOf(properties: Record<string, unknown>, issues: FieldIssue[], strict: boolean): Normalized['money'] {
  const amounts: [string, number][] = [];
  for (const key of moneyKeys) {
    const v = properties[key];
    if (typeof v === 'number') amounts.push([key, v]);
  }
  const products = properties.products;
  if (Array.isArray(products)) {
    products.forEach((p: unknown, i) => {
      if (typeof p === 'object' && p !== null && 'price' in p && typeof p.price === 'number') amounts.push([`products.${i}.price`, p.price]);
    });
  }
  if (amounts.length === 0) return undefined;
  const code = typeof properties.currency === 'string' ? properties.currency : DEFAULT_CURRENCY;
  const currency = normalizeCurrency(code);
  if (!currency.ok) {
    if (strict) issues.push({ field: 'properties.currency', message: currency.message });
    return undefined;
  }
  const minor: Record<string, number> = {};
  for (const [path, amount] of amounts) {
    const m = toMinorUnits(amount, currency.value.exponent);
    if (m.ok) minor[path] = m.value;
    else if (strict) issues.push({ field: `properties.${path}`, message: m.message });
  }
  return { currency: currency.value.code, amounts: minor };
}

/** Checks and rewrites `birthday`, `timezone` and `locale` in one traits object, in place of a copy. */
function checkTraits(traits: Traits | undefined, field: string, issues: FieldIssue[]): { traits: Traits | undefined; normal: NonNullable<Normalized['traits']> } {
  const normal: NonNullable<Normalized['traits']> = {};
  if (traits === undefined) return { traits, normal };
  const next: Traits = { ...traits };
  const checks = [
    ['birthday', normalizeBirthday],
    ['timezone', normalizeTimeZone],
    ['locale', normalizeLocale],
  ] as const;
  for (const [key, check] of checks) {
    const value = traits[key];
    if (value === undefined || value === null) continue;
    const result = check(value);
    if (!result.ok) {
      issues.push({ field: `${field}.${key}`, message: result.message });
      continue;
    }
    next[key] = result.value;
    normal[key] = result.value;
  }
  return { traits: next, normal };
}

/**
 * Checks what the common Spec fields leave open and normalizes the call: known events' properties,
 * timestamps to UTC (offset kept), money to minor units, traits checked. Never throws.
 */
export function normalizeCall(call: SegmentCall): Validation {
  const issues: FieldIssue[] = [];
  let next: SegmentCall = call;
  if (call.type === 'track' && isKnownEvent(call.event)) {
    const parsed = knownEventProperties[call.event].safeParse(call.properties);
    if (!parsed.success) {
      return { ok: false, reason: `"${call.event}" properties do not match the E-commerce Spec`, issues: issuesOf(parsed.error, 'properties') };
    }
    next = { ...call, properties: parsed.data };
  }
  const time = normalizeTimestamp(call.timestamp);
  if (!time.ok) return { ok: false, reason: SPEC_MISMATCH, issues: [{ field: 'timestamp', message: time.message }] };

  const context = checkTraits(call.context?.traits, 'context.traits', issues);
  const own = next.type === 'identify' ? checkTraits(next.traits, 'traits', issues) : undefined;
  const money = next.type === 'track' ? moneyOf(next.properties, issues, isKnownEvent(next.event)) : undefined;
  if (issues.length > 0) return { ok: false, reason: SPEC_MISMATCH, issues };

  const traits = { ...context.normal, ...own?.normal };
  // What the order counts as, by the one order-value rule, so no consumer re-derives it.
  const orderValue = next.type === 'track' && movesOrderValue(next.event) && money !== undefined ? orderEventValue({ properties: next.properties, normalized: { money } }) : null;
  const normalized: Normalized = {
    timestampOffset: time.value.offset,
    ...(money === undefined ? {} : { money }),
    ...(orderValue === null ? {} : { orderValue }),
    ...(Object.keys(traits).length === 0 ? {} : { traits }),
  };
  next = { ...next, timestamp: time.value.utc, normalized };
  if (next.context !== undefined && context.traits !== undefined) next = { ...next, context: { ...next.context, traits: context.traits } };
  if (next.type === 'identify' && own?.traits !== undefined) next = { ...next, traits: own.traits };
  return { ok: true, call: next };
}
