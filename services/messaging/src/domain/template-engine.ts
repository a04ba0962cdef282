import Handlebars from 'handlebars';
import juice from 'juice';
import { inlineCssAheadOfTime, juiceOptions, sameStylesAsWholeMessage, styleRules } from './css-inlining.ts';
import { byLanguageHelper, dateHelper, httpUrlHelper, moneyHelper, pluralHelper, trackLinkHelper, type RenderData } from './template-helpers.ts';

/** The three sources of one template (or one locale variant of it). */
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

export type RenderResult = { ok: true; content: RenderedContent } | { ok: false; error: string; part?: keyof TemplateSource };

export interface RenderOptions {
  /** BCP 47 tag used for numbers, money, dates and plurals; a malformed one falls back to English. */
  locale: string;
  /** IANA zone for dates (`{{date …}}`); a malformed one falls back to UTC. */
  timeZone?: string;
  /** Becomes `utm_campaign` in `{{trackLink …}}`. */
  campaignId?: string;
}

export interface CompiledTemplate {
  render: (data: Record<string, unknown>, opts: RenderOptions) => RenderResult;
  /**
   * Set when `render` uses HTML whose CSS was inlined at compile time: the same template inlining
   * each rendered message instead, which is always right, for checking the fast one against a sample.
   */
  perMessage?: CompiledTemplate;
}

export interface TemplateEngineOptions {
  /** Shared partials by name: `templates/_partials/footer.hbs` is `footer`, `_layouts/email.hbs` is `layouts/email`. */
  partials?: Record<string, string>;
  /**
   * Fail on any variable the data does not hold (outside `{{#if}}` and helper arguments):
   * `templates:check` renders each sample this way, so a typo fails the check, not the send.
   */
  strict?: boolean;
  /** Inline the CSS once at compile time where that gives the same HTML as inlining each message (default true). */
  inlineAheadOfTime?: boolean;
}

export interface TemplateEngine {
  compile: (source: TemplateSource) => CompiledTemplate;
}

export const knownHelperNames = ['money', 'httpUrl', 'date', 'plural', 'trackLink', 'byLanguage'] as const;

type CompileOptions = NonNullable<Parameters<typeof Handlebars.compile>[1]>;

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
 * The HTML part's `<style>` rules are inlined afterwards, as many email clients drop `<style>`.
 */
export function createTemplateEngine(opts: TemplateEngineOptions = {}): TemplateEngine {
  const instance = (): typeof Handlebars => {
    const hbs = Handlebars.create();
    hbs.registerHelper('money', moneyHelper);
    hbs.registerHelper('httpUrl', httpUrlHelper);
    hbs.registerHelper('date', dateHelper);
    hbs.registerHelper('plural', pluralHelper);
    hbs.registerHelper('trackLink', trackLinkHelper);
    hbs.registerHelper('byLanguage', byLanguageHelper);
    return hbs;
  };
  const compileOptions: CompileOptions = {
    // A typo such as {{mony total}} fails when the template is used instead of rendering nothing.
    knownHelpers: Object.fromEntries(knownHelperNames.map((name) => [name, true])),
    knownHelpersOnly: true,
    strict: opts.strict === true,
  };
  const partials = Object.entries(opts.partials ?? {});
  const hbs = instance();
  for (const [name, source] of partials) hbs.registerPartial(name, hbs.compile(source, compileOptions));

  // Partials inlined ahead of time, on an instance of their own; null when any of them cannot be.
  // The layout's <style> applies to the whole message, so every other source is inlined with its rules.
  const styled = partials.filter(([, source]) => styleRules(source).length > 0);
  const css = styled.flatMap(([, source]) => styleRules(source)).join('\n');
  const plainPartials = Object.fromEntries(partials);
  const ahead = ((): { hbs: typeof Handlebars; partials: Record<string, string> } | null => {
    if (opts.inlineAheadOfTime === false || styled.length > 1) return null;
    const fast = instance();
    const inlinedPartials: Record<string, string> = {};
    for (const [name, source] of partials) {
      const inlined = inlineCssAheadOfTime(source, styleRules(source).length > 0 ? '' : css);
      if (inlined === null) return null;
      inlinedPartials[name] = inlined;
      fast.registerPartial(name, fast.compile(inlined, compileOptions));
    }
    return { hbs: fast, partials: inlinedPartials };
  })();

  const build = (source: TemplateSource, engine: typeof Handlebars, html: string, inlineEach: boolean): CompiledTemplate => {
    // Handlebars compiles lazily, so syntax errors surface at the first render and are caught there.
    const parts = {
      subject: engine.compile<Record<string, unknown>>(source.subject, compileOptions),
      html: engine.compile<Record<string, unknown>>(html, compileOptions),
      text: engine.compile<Record<string, unknown>>(source.text, compileOptions),
    };
    return {
      render: (data, renderOpts) => {
        const runtimeData: RenderData = {
          locale: renderOpts.locale,
          ...(renderOpts.timeZone === undefined ? {} : { timeZone: renderOpts.timeZone }),
          ...(renderOpts.campaignId === undefined ? {} : { campaignId: renderOpts.campaignId }),
          ...(opts.strict === true ? { strict: true } : {}),
        };
        const runtime = { data: runtimeData };
        const content: Partial<RenderedContent> = {};
        for (const part of ['subject', 'html', 'text'] as const) {
          try {
            content[part] = parts[part](data, runtime);
          } catch (err) {
            return { ok: false, error: `${part}: ${describeError(err)}`, part };
          }
        }
        const subject = oneLine(content.subject ?? '');
        if (subject === '') return { ok: false, error: 'the subject rendered empty', part: 'subject' };
        let rendered = content.html ?? '';
        if (inlineEach) {
          try {
            rendered = juice(rendered, juiceOptions);
          } catch (err) {
            return { ok: false, error: `html: the CSS could not be inlined: ${describeError(err)}`, part: 'html' };
          }
        }
        return { ok: true, content: { subject, html: rendered, text: content.text ?? '' } };
      },
    };
  };

  return {
    compile: (source) => {
      const perMessage = build(source, hbs, source.html, true);
      // A template with a <style> of its own would change what the shared partials get: inlined per message.
      const inlined = ahead === null || styleRules(source.html).length > 0 ? null : inlineCssAheadOfTime(source.html, css);
      if (ahead === null || inlined === null) return perMessage;
      if (!sameStylesAsWholeMessage({ html: source.html, partials: plainPartials }, { html: inlined, partials: ahead.partials })) return perMessage;
      return { ...build(source, ahead.hbs, inlined, false), perMessage };
    },
  };
}
