import { ConsentSource, ConsentState } from '@lifecycle/contracts';
import { sendStatuses } from './domain/send-policy.ts';
import { openApi, operatorApiPaths, serviceTokenScheme } from '@lifecycle/kit';

const { json, str, nstr, time, ntime, int, obj, protectedRoute, badRequest, unauthorized, notFound } = openApi;

const customerId = { name: 'id', in: 'path', required: true, schema: str, description: 'A customer id.' };
const state = { enum: [...ConsentState.options] };

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
    ...operatorApiPaths(),
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Lifecycle messaging: read API', version: '1', description: 'Messages, consent and template previews. Timestamps are ISO 8601 UTC.' },
    paths,
    components: { securitySchemes: { serviceToken: serviceTokenScheme } },
  };
}
