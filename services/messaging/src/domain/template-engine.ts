import Handlebars from 'handlebars';
import { z } from 'zod';
import { formatMoney } from './money.ts';

/** The three sources of one template folder. */
export interface TemplateSource {
  subject: string;
  html: string;
  text: string;
}

export interface RenderedContent {
  subject: string;
  html: string;
  text: string;
}

export type RenderResult = { ok: true; content: RenderedContent } | { ok: false; error: string };

export interface RenderOptions {
  /** BCP 47 tag used for numbers and money; a malformed one falls back to English. */
  locale: string;
}

export interface CompiledTemplate {
  render: (data: Record<string, unknown>, opts: RenderOptions) => RenderResult;
}

export interface TemplateEngine {
  compile: (source: TemplateSource) => CompiledTemplate;
}

const RenderData = z.object({ locale: z.string() });

/** `{{money amount currency}}`: an amount in major units, formatted for the message's locale. */
function moneyHelper(amount: unknown, currency: unknown, options: Handlebars.HelperOptions): string {
  if (typeof amount !== 'number') throw new TypeError(`money: expected a number, got ${typeof amount}`);
  if (typeof currency !== 'string') throw new TypeError('money: expected an ISO 4217 currency code as second argument');
  const data = RenderData.safeParse(options.data);
  return formatMoney(amount, currency, data.success ? data.data.locale : 'en');
}

/** `{{httpUrl url}}`: the URL when it is http(s), else nothing; escaping alone lets `javascript:` through. */
function httpUrlHelper(value: unknown): string {
  if (typeof value !== 'string') return '';
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : '';
  } catch {
    return '';
  }
}

type CompileOptions = NonNullable<Parameters<typeof Handlebars.compile>[1]>;

const compileOptions: CompileOptions = {
  // A typo such as {{mony total}} fails when the template is used instead of rendering nothing.
  knownHelpers: { money: true, httpUrl: true },
  knownHelpersOnly: true,
};

/** A subject is one header line: template newlines must never reach the wire. */
function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Handlebars on an instance of its own, so helpers registered here cannot leak into (or be
 * replaced by) any other user of the library. HTML escaping stays on and prototype access
 * stays off: template data comes from customers. Plain-text parts use `{{{ }}}` on purpose.
 */
export function createTemplateEngine(): TemplateEngine {
  const hbs = Handlebars.create();
  hbs.registerHelper('money', moneyHelper);
  hbs.registerHelper('httpUrl', httpUrlHelper);
  return {
    compile: (source) => {
      // Handlebars compiles lazily, so syntax errors surface at the first render and are caught there.
      const subject = hbs.compile<Record<string, unknown>>(source.subject, compileOptions);
      const html = hbs.compile<Record<string, unknown>>(source.html, compileOptions);
      const text = hbs.compile<Record<string, unknown>>(source.text, compileOptions);
      return {
        render: (data, opts) => {
          const runtime = { data: { locale: opts.locale } };
          try {
            const content = { subject: oneLine(subject(data, runtime)), html: html(data, runtime), text: text(data, runtime) };
            if (content.subject === '') return { ok: false, error: 'the subject rendered empty' };
            return { ok: true, content };
          } catch (err) {
            return { ok: false, error: describeError(err) };
          }
        },
      };
    },
  };
}
