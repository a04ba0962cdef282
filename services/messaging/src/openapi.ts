import { ConsentSource, ConsentState, MarketingFrequency } from '@lifecycle/contracts';
import { sendStatuses } from './domain/send-policy.ts';
import { openApi, operatorApiPaths, serviceTokenScheme } from '@lifecycle/kit';

const { json, str, nstr, time, ntime, int, obj, protectedRoute, badRequest, unauthorized, notFound } = openApi;

const customerId = { name: 'id', in: 'path', required: true, schema: str, description: 'A customer id.' };
const state = { enum: [...ConsentState.options] };
const linkToken = { name: 'token', in: 'path', required: true, schema: str, description: 'The signed token of the link in the mail (it names an address id, never the address).' };
const lang = { name: 'lang', in: 'query', required: false, schema: { enum: ['en', 'ja'], default: 'en' }, description: 'The page’s language; the link in a mail carries the mail’s.' };
const htmlPage = (description: string) => ({ description, content: { 'text/html': { schema: str } } });

/** The OpenAPI description of messaging's read API and preview (and the kit's operations routes). */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/customers/{id}/messages': {
      get: {
        summary: 'The messages requested for a customer, newest first, with what became of them.',
        ...protectedRoute,
        parameters: [customerId],
        responses: {
          '200': {
            description: 'The messages.',
            content: json(
              obj({
                messages: {
                  type: 'array',
                  items: obj({
                    messageId: str,
                    dedupeKey: str,
                    campaignId: str,
                    templateId: str,
                    status: { enum: [...sendStatuses], description: 'claimed and sending: in progress; doubtful: the provider may or may not have it (an operator decides).' },
                    providerMessageId: nstr,
                    requestedAt: time,
                    sentAt: { ...ntime, description: 'When messaging recorded it as sent; null unless `status` is sent.' },
                    openedAt: { ...ntime, description: 'The first open SendGrid reported.' },
                    clickedAt: { ...ntime, description: 'The first click SendGrid reported.' },
                    error: nstr,
                  }),
                },
              }),
            ),
          },
          '401': unauthorized,
          '404': notFound('Messaging knows neither a message nor consent for this customer.'),
        },
      },
    },
    '/customers/{id}/consent': {
      get: {
        summary: 'A customer’s marketing consent (messaging is its owner) with the history of its changes.',
        ...protectedRoute,
        parameters: [customerId],
        responses: {
          '200': {
            description: 'The consent.',
            content: json(
              obj({
                customerId: str,
                email: nstr,
                state: { ...state, type: ['string', 'null'] },
                marketingAllowed: { type: ['boolean', 'null'] },
                sequence: int,
                preference: { enum: ['subscribed', 'unsubscribed', null], description: 'The customer’s own choice.' },
                preferenceAt: ntime,
                block: { enum: ['bounced', 'complained', null], description: 'The provider’s block.' },
                blockAt: ntime,
                addressSuppression: { type: ['object', 'null'], properties: { reason: str, since: time }, description: 'An opt-out kept for the address alone.' },
                preferences: {
                  ...obj({ topicsOptedOut: { type: 'array', items: str }, frequency: { enum: [...MarketingFrequency.options] }, at: ntime }),
                  description: 'The preference center’s choices: topics left (ids of campaigns/_consent.yaml) and how often; `at` null when never saved.',
                },
                optIn: { enum: ['pending', 'confirmed', null], description: 'Double opt-in: pending until the confirmation link is clicked; null where none was asked.' },
                optInProof: {
                  type: ['object', 'null'],
                  description: 'The proof of a double opt-in.',
                  properties: { subscribedAt: time, source: str, eventId: str, ip: str, userAgent: str, confirmedAt: time, confirmIp: str, confirmUserAgent: str },
                },
                history: {
                  type: 'array',
                  description: 'Each change as published on consent.changes, oldest first (changes from before the history was kept are missing).',
                  items: obj({ sequence: int, state, previousState: { ...state, type: ['string', 'null'] }, marketingAllowed: { type: 'boolean' }, source: { enum: [...ConsentSource.options] }, consentAt: time, recordedAt: time }),
                },
              }),
            ),
          },
          '401': unauthorized,
          '404': notFound('Messaging has no consent for this customer.'),
        },
      },
    },
    '/preferences/{token}': {
      get: {
        summary: 'The preference center, an HTML page for the customer (the “Manage preferences” link of marketing mail): topics, frequency, unsubscribe from all. No service token: the signed link is the proof.',
        parameters: [linkToken, lang],
        responses: { '200': htmlPage('The form, in the customer’s language.'), '404': htmlPage('The link is not valid (forged, changed, or links not configured).') },
      },
      post: {
        summary: 'Saves the form for every customer at the address: a consent.changes record (source preference-center) carrying the preferences; “unsubscribe from all” also unsubscribes.',
        parameters: [linkToken, lang],
        requestBody: {
          required: false,
          content: { 'application/x-www-form-urlencoded': { schema: obj({ topic: { type: 'array', items: str, description: 'The topics kept (one field per topic); the others are left.' }, frequency: { enum: [...MarketingFrequency.options] }, all: { ...str, description: 'Present: unsubscribe from all marketing.' } }) } },
        },
        responses: { '200': htmlPage('Saved.'), '404': htmlPage('The link is not valid.') },
      },
    },
    '/confirm/{token}': {
      get: {
        summary: 'Double opt-in: the page of the confirmation mail’s link, with a Confirm button (a GET confirms nothing, so mail scanners cannot). No service token.',
        parameters: [linkToken, lang],
        responses: { '200': htmlPage('The page with the button.'), '404': htmlPage('The link is not valid.') },
      },
      post: {
        summary: 'Confirms the subscriptions waiting at the address: consent becomes subscribed (source double-opt-in), the proof gains the time, IP and user agent of the click. Twice is harmless.',
        parameters: [linkToken, lang],
        responses: { '200': htmlPage('Confirmed, or nothing left to confirm.'), '404': htmlPage('The link is not valid.') },
      },
    },
    '/metrics/messages': {
      get: {
        summary: 'Messages sent per UTC day by campaign (what the provider was given).',
        ...protectedRoute,
        parameters: [
          { name: 'from', in: 'query', required: true, schema: time, description: 'Start (inclusive), ISO 8601 with offset.' },
          { name: 'to', in: 'query', required: true, schema: time, description: 'End (exclusive), after `from`; at most 3,700 days later.' },
        ],
        responses: {
          '200': {
            description: 'Every UTC day that overlaps the period, empty days included.',
            content: json(obj({ from: time, to: time, days: { type: 'array', items: obj({ day: { ...str, format: 'date' }, byCampaign: { type: 'object', additionalProperties: int } }) } })),
          },
          '400': badRequest,
          '401': unauthorized,
        },
      },
    },
    '/coupons/stats': {
      get: {
        summary: 'Coupon pools (codes left, low ones) and the codes each campaign and variant handed out, redeemed and the revenue of their first orders.',
        ...protectedRoute,
        parameters: [{ name: 'campaignId', in: 'query', required: false, schema: str, description: 'Only this campaign’s rows in `campaigns`.' }],
        responses: {
          '200': {
            description: 'The stats.',
            content: json(
              obj({
                pools: {
                  type: 'array',
                  description: 'Every pool of the coupons file.',
                  items: obj({
                    pool: str,
                    kind: { enum: ['generated', 'imported'] },
                    available: { type: ['integer', 'null'], description: 'Codes left to hand out; null for a generated pool without a limit.' },
                    issued: int,
                    redeemed: { ...int, description: 'Codes used on at least one order.' },
                    low: { type: 'boolean', description: 'Fewer codes left than the pool’s lowWater.' },
                  }),
                },
                campaigns: {
                  type: 'array',
                  items: obj({
                    campaignId: str,
                    variant: nstr,
                    issued: int,
                    redeemed: int,
                    redemptionRate: { type: 'number', description: 'redeemed / issued (0 when none were issued).' },
                    redeemedMoreThanOnce: { ...int, description: 'Codes used on more than one order.' },
                    revenue: {
                      type: 'array',
                      description: 'The value of each code’s first order, per currency (never added across currencies).',
                      items: obj({ currency: str, amountMinor: int, amount: { type: 'number', description: 'In major units.' } }),
                    },
                  }),
                },
              }),
            ),
          },
          '400': badRequest,
          '401': unauthorized,
        },
      },
    },
    '/templates/{templateId}': {
      get: {
        summary: 'A template: the locales it has files for (what its preview can render).',
        ...protectedRoute,
        parameters: [{ name: 'templateId', in: 'path', required: true, schema: str, description: 'A template folder under TEMPLATES_DIR.' }],
        responses: { '200': { description: 'The template.', content: json(obj({ templateId: str, locales: { type: 'array', items: str } })) }, '400': badRequest, '401': unauthorized, '404': notFound('No such template, or it does not load; `error` says why.') },
      },
    },
    '/preview/{templateId}': {
      get: {
        summary: 'A template rendered with its sample data, as an HTML page.',
        ...protectedRoute,
        parameters: [
          { name: 'templateId', in: 'path', required: true, schema: { ...str, pattern: '^[a-z0-9][a-z0-9-]*$' } },
          { name: 'locale', in: 'query', required: false, schema: { ...str, default: 'en' } },
        ],
        responses: { '200': { description: 'The rendered template.', content: { 'text/html': { schema: str } } }, '400': badRequest, '401': unauthorized, '404': { description: 'No such template.' } },
      },
    },
    '/admin/privacy/requests': {
      post: {
        summary: 'Ask every service to erase or export what it holds on a customer: recorded and published on privacy.requests; poll the request for the services’ confirmations.',
        ...protectedRoute,
        requestBody: {
          required: true,
          content: json(obj({ customerId: str, kind: { enum: ['erase', 'export'] }, requestedBy: { ...str, description: 'Who asked (an operator’s name; default `api`).' } }, ['customerId', 'kind'])),
        },
        responses: { '202': { description: 'Recorded; the services act on it.', content: json(obj({ requestId: str, status: { enum: ['pending'] } })) }, '400': badRequest, '401': unauthorized },
      },
    },
    '/admin/privacy/requests/{id}': {
      get: {
        summary: 'A privacy request: which of the four services have confirmed it, with what they did and kept; an export’s data once they have.',
        ...protectedRoute,
        parameters: [{ name: 'id', in: 'path', required: true, schema: str, description: 'The request id POST answered with.' }],
        responses: {
          '200': {
            description: 'The request.',
            content: json(
              obj({
                requestId: str,
                kind: { enum: ['erase', 'export'] },
                customerId: str,
                requestedBy: str,
                requestedAt: time,
                status: { enum: ['pending', 'complete'], description: 'complete once all four services confirmed.' },
                completedAt: ntime,
                services: {
                  type: 'object',
                  description: 'Per service (ingestion, classifier, scheduler, messaging): null until it confirmed.',
                  additionalProperties: { type: ['object', 'null'], properties: { confirmedAt: time, summary: { type: 'object', additionalProperties: int, description: 'Rows erased or exported, per table.' }, kept: { type: 'array', items: str } } },
                },
                export: { type: 'object', description: 'Export only: per service, its rows on the customer by table; emptied by a later erase.', additionalProperties: true },
              }, ['requestId', 'kind', 'customerId', 'requestedBy', 'requestedAt', 'status', 'completedAt', 'services']),
            ),
          },
          '400': badRequest,
          '401': unauthorized,
          '404': notFound('No such request.'),
        },
      },
    },
    ...operatorApiPaths(),
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Lifecycle messaging: read API', version: '1', description: 'Messages, consent and template previews. Timestamps are ISO 8601 UTC.' },
    paths,
    components: { securitySchemes: { serviceToken: serviceTokenScheme } },
  };
}
