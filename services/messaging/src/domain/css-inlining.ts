import Handlebars from 'handlebars';
import juice from 'juice';

/** How every rendered HTML part is inlined, and how a template source is inlined ahead of time. */
export const juiceOptions = { removeStyleTags: true, preserveMediaQueries: true } as const;

/** `<style>` blocks in a template source, whose rules apply to the whole rendered document. */
const styleBlock = /<style\b[^>]*>([\s\S]*?)<\/style>/gi;

export function styleRules(source: string): string[] {
  return [...source.matchAll(styleBlock)].map((m) => m[1] ?? '');
}

/**
 * Selectors whose matches depend on more than an element and its ancestors (siblings, position,
 * attributes, states): one element of the source can become several elements, or none, at render
 * time, so only inlining the rendered document gets them right.
 */
const renderDependentSelector = /[+~[:]/;

export function inlinableAheadOfTime(css: string): boolean {
  const withoutAtRules = css.replace(/\/\*[\s\S]*?\*\//g, '').replace(/@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}/g, '');
  if (/@/.test(withoutAtRules)) return false;
  const selectors = [...withoutAtRules.matchAll(/([^{}]+)\{[^{}]*\}/g)].map((m) => m[1] ?? '');
  return selectors.every((selector) => !renderDependentSelector.test(selector));
}

type Node = {
  type: string;
  loc?: { start: { line: number; column: number }; end: { line: number; column: number } } | null;
  body?: Node[];
  program?: Node | null;
  inverse?: Node | null;
  value?: unknown;
  name?: { type: string; original?: unknown } | null;
};

/** The text parts of a Handlebars source (HTML), in source order, as offsets into it. */
function contentSpans(source: string): [number, number][] {
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') lineStarts.push(i + 1);
  const offset = (p: { line: number; column: number }): number => (lineStarts[p.line - 1] ?? 0) + p.column;
  const spans: [number, number][] = [];
  const walk = (node: Node | null | undefined): void => {
    if (node === null || node === undefined) return;
    if (node.type === 'ContentStatement' && node.loc !== null && node.loc !== undefined) spans.push([offset(node.loc.start), offset(node.loc.end)]);
    for (const child of node.body ?? []) walk(child);
    walk(node.program);
    walk(node.inverse);
  };
  // Whitespace control is applied by compile; the raw parse keeps every text part where it was written.
  walk(Handlebars.parseWithoutProcessing(source) as unknown as Node);
  return spans.sort((a, b) => a[0] - b[0]);
}

/** Where a piece of Handlebars syntax sits in the HTML around it. */
type Place = 'text' | 'tag' | 'value' | 'unsafe';

/** Scans HTML text to know whether its end lies in text, inside a tag, or in a quoted attribute value. */
function placeAfter(html: string): { place: Place; attribute: string | null } {
  let inTag = false;
  let quote: string | null = null;
  let attribute: string | null = null;
  let inStyle = false;
  for (let i = 0; i < html.length; i++) {
    const c = html[i];
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (inTag) {
      if (c === '"' || c === "'") {
        quote = c;
        attribute = /([^\s=<]+)\s*=\s*$/.exec(html.slice(Math.max(0, i - 64), i))?.[1]?.toLowerCase() ?? null;
      } else if (c === '>') inTag = false;
    } else if (c === '<' && /[A-Za-z/!]/.test(html[i + 1] ?? '')) {
      inTag = true;
      const tag = /^<\/?([A-Za-z]+)/.exec(html.slice(i, i + 10))?.[1]?.toLowerCase();
      if (tag === 'style') inStyle = html[i + 1] !== '/';
    }
  }
  if (inStyle && !inTag) return { place: 'unsafe', attribute: null };
  if (quote !== null) return { place: 'value', attribute };
  if (inTag) return { place: /=\s*$/.test(html) ? 'unsafe' : 'tag', attribute: null };
  return { place: 'text', attribute: null };
}

/** Attributes that selectors match on or that inlining rewrites: Handlebars in them decides the style per message. */
const styledAttributes = new Set(['class', 'id', 'style']);

/**
 * A Handlebars source with the CSS inlined into its elements' `style` attributes, so rendering
 * skips juice (the costliest step of a send). Handlebars syntax is set aside as placeholders that
 * juice leaves alone, then put back. Null when inlining ahead of time could differ from inlining
 * the rendered message: HTML from data (`{{{ }}}`), Handlebars in a class, id or style attribute
 * or in CSS, or rules that depend on siblings or attributes. `css` is the rules of `<style>`
 * blocks in other sources (the layout's); the source's own `<style>` blocks are handled as
 * juice handles them in a rendered message.
 */
export function inlineCssAheadOfTime(source: string, css: string): string | null {
  if (!inlinableAheadOfTime(`${css}\n${styleRules(source).join('\n')}`)) return null;
  let spans: [number, number][];
  try {
    spans = contentSpans(source);
  } catch {
    // A syntax error surfaces at the first render, from the source as written.
    return null;
  }
  const syntax: string[] = [];
  let html = '';
  let at = 0;
  const setAside = (piece: string): boolean => {
    if (piece === '') return true;
    if (piece.startsWith('{{{') || piece.startsWith('{{&') || /^\{\{~?\{/.test(piece)) return false;
    const { place, attribute } = placeAfter(html);
    if (place === 'unsafe' || (place === 'value' && attribute !== null && styledAttributes.has(attribute)) || (place === 'value' && attribute === null)) return false;
    if (place === 'tag' && /\b(class|id|style)\s*=/i.test(piece)) return false;
    syntax.push(piece);
    const n = syntax.length - 1;
    // In a tag it must parse as an attribute of its own; the serializer writes it back as ` data-hbs-N=""`.
    html += place === 'tag' ? ` data-hbs-${n} ` : `HBSX${n}X`;
    return true;
  };
  for (const [start, end] of spans) {
    if (!setAside(source.slice(at, start))) return null;
    html += source.slice(start, end);
    at = end;
  }
  if (!setAside(source.slice(at))) return null;
  // Handlebars that adds a class or style attribute (`<td {{#if a}}class="x"{{/if}}>`) shows in the tag's text after it.
  if (/data-hbs-\d+ [^>]*\b(class|id|style)\s*=/i.test(html)) return null;
  let inlined: string;
  try {
    inlined = juice(html, { ...juiceOptions, extraCss: css, insertPreservedExtraCss: false });
  } catch {
    return null;
  }
  let restored = inlined.replace(/ ?data-hbs-(\d+)(="")?/g, (_, n: string) => syntax[Number(n)] ?? '');
  restored = restored.replace(/HBSX(\d+)X/g, (_, n: string) => syntax[Number(n)] ?? '');
  return restored;
}

/**
 * The HTML a template could produce, with partials in place and every branch of every block,
 * Handlebars expressions left out: the static structure of a message, for comparing how its
 * elements are styled. Null when a partial is missing or chosen at render time.
 */
function skeleton(source: string, partials: Record<string, string>, block: string, depth = 0): string | null {
  if (depth > 20) return null;
  let root: Node;
  try {
    root = Handlebars.parseWithoutProcessing(source) as unknown as Node;
  } catch {
    return null;
  }
  const emit = (node: Node | null | undefined): string | null => {
    if (node === null || node === undefined) return '';
    if (node.type === 'ContentStatement') return typeof node.value === 'string' ? node.value : '';
    if (node.type === 'PartialStatement' || node.type === 'PartialBlockStatement') {
      const name = node.name?.type === 'PathExpression' && typeof node.name.original === 'string' ? node.name.original : null;
      if (name === null) return null;
      if (name === '@partial-block') return block;
      const partial = partials[name];
      const inner = node.type === 'PartialBlockStatement' ? emit(node.program) : '';
      if (partial === undefined || inner === null) return null;
      return skeleton(partial, partials, inner, depth + 1);
    }
    let out = '';
    for (const child of [...(node.body ?? []), node.program, node.inverse]) {
      const part = emit(child);
      if (part === null) return null;
      out += part;
    }
    return out;
  };
  return emit(root);
}

/**
 * Whether a template inlined source by source (`ahead`, from inlineCssAheadOfTime) styles every
 * element of the message as inlining the whole message does: a rule such as `.card p` with
 * `.card` in the layout and the `p` in the template matches only in the whole message.
 */
export function sameStylesAsWholeMessage(plain: { html: string; partials: Record<string, string> }, ahead: { html: string; partials: Record<string, string> }): boolean {
  const whole = skeleton(plain.html, plain.partials, '');
  const pieces = skeleton(ahead.html, ahead.partials, '');
  if (whole === null || pieces === null) return false;
  try {
    return juice(whole, juiceOptions) === juice(pieces, juiceOptions);
  } catch {
    return false;
  }
}
