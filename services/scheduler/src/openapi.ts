import { openApi, operatorApiPaths, serviceTokenScheme } from '@lifecycle/kit';

const { json, str, nstr, time, ntime, int, obj, protectedRoute, badRequest, unauthorized, notFound } = openApi;

const counts = { type: 'object', additionalProperties: int };
const byCurrency = { type: 'object', additionalProperties: { type: 'number' }, description: 'Major units, keyed by ISO 4217 currency.' };
const idParam = (description: string) => ({ name: 'id', in: 'path', required: true, schema: str, description });

const num = { type: 'number' };
const Group = obj(
  { customers: { ...int, description: 'Distinct customers with at least one job of the group.' }, converted: { ...int, description: 'Of them, those with a conversion of the group.' }, conversionRate: num, revenuePerCustomer: byCurrency },
  ['customers', 'converted', 'conversionRate', 'revenuePerCustomer'],
);
const Lift = {
  anyOf: [
    obj(
    {
      absolute: { ...num, description: 'Conversion rate of the mailed minus that of the held out.' },
      relative: { type: ['number', 'null'], description: 'The absolute lift over the held-out rate; null when nobody held out converted.' },
      ci95: { type: 'array', items: num, minItems: 2, maxItems: 2, description: '95% interval of the absolute lift.' },
      significant: { type: 'boolean', description: 'The interval does not span 0.' },
      method: str,
    },
    ['absolute', 'relative', 'ci95', 'significant', 'method'],
    ),
    { type: 'null' },
  ],
  description: 'Null when either group is empty.',
};
const Holdout = {
  anyOf: [
    obj({ percent: { ...num, description: 'The campaign’s holdout share (`holdout.percent`).' }, mailed: Group, heldOut: { ...Group, description: 'Held out by the campaign’s holdout or the global control.' }, lift: Lift }, ['percent', 'mailed', 'heldOut', 'lift']),
    { type: 'null' },
  ],
  description: 'Marketing campaigns: the mailed and held-out groups and the lift; null for transactional ones.',
};

const CampaignStats = obj(
  {
    id: str,
    name: str,
    enabled: { type: 'boolean' },
    jobs: { ...counts, description: 'Jobs by status: pending, sent, skipped, cancelled, suppressed, failed, held_out.' },
    pending: int,
    sent: { ...int, description: 'Requested from messaging and not turned down by it.' },
    suppressed: int,
    failed: int,
    cancelled: obj({ total: int, byReason: counts }),
    skipped: obj({ total: int, byReason: counts }),
    deferredBySendWindow: int,
    conversions: { ...int, description: 'Conversions after mailed messages (the held-out group’s are in `holdout`).' },
    revenue: byCurrency,
    goal: obj({ event: str, withinMs: int }),
    variants: { type: 'object', additionalProperties: obj({ sent: int, conversions: int, revenue: byCurrency }), description: 'By variant id (`default` without an A/B test).' },
    holdout: Holdout,
  },
  ['id', 'name', 'enabled', 'jobs', 'pending', 'sent', 'suppressed', 'failed', 'cancelled', 'skipped', 'deferredBySendWindow', 'conversions', 'revenue', 'variants', 'holdout'],
);

const Job = obj({
  dedupeKey: str,
  campaignId: str,
  status: { enum: ['pending', 'sent', 'skipped', 'cancelled', 'suppressed', 'failed', 'held_out'] },
  skipReason: {
    ...nstr,
    description:
      'stale, no_email, unsubscribed, unconfirmed, topic_opt_out, preference_frequency, condition, frequency_cap, sunset; for held_out jobs the group (global_control, holdout); for cancelled jobs campaign_disabled, exit, rescheduled.',
  },
  skipDetail: nstr,
  dueAt: time,
  firedAt: ntime,
  createdAt: time,
  triggerAt: time,
  deferrals: { ...int, description: 'How often the send window moved the job later.' },
  variant: nstr,
});

/** The OpenAPI description of the scheduler's read API (and the kit's operations routes). */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/campaigns': {
      get: {
        summary: 'Every campaign with its definition and totals, of all time or of a window.',
        ...protectedRoute,
        parameters: [
          { name: 'from', in: 'query', required: false, schema: time, description: 'With `to`: count only jobs fired and conversions made from this instant (inclusive).' },
          { name: 'to', in: 'query', required: false, schema: time, description: 'With `from`: … up to this instant (exclusive). Pending jobs belong to no window.' },
        ],
        responses: {
          '200': { description: 'The campaigns and the scheduler’s clock (and the window, when one was asked for).', content: json(obj({ now: time, period: obj({ from: time, to: time }), campaigns: { type: 'array', items: { type: 'object' } } }, ['now', 'campaigns'])) },
          '400': badRequest,
          '401': unauthorized,
        },
      },
    },
    '/campaigns/{id}': {
      get: {
        summary: 'One campaign: its stats, its file as in the repository and its sends per UTC day.',
        ...protectedRoute,
        parameters: [idParam('A campaign id.')],
        responses: {
          '200': {
            description: 'The campaign.',
            content: json({
              allOf: [
                CampaignStats,
                obj({
                  template: str,
                  templateId: { ...str, description: 'The template folder (messaging’s `GET /preview/{templateId}`).' },
                  category: { enum: ['transactional', 'marketing'] },
                  trigger: { type: 'object' },
                  delay: { type: 'object' },
                  locales: { type: 'array', items: str, description: 'Languages the campaign’s data is translated into (`localizedData`).' },
                  file: { ...nstr, description: 'The file’s name in the campaigns folder.' },
                  yaml: { ...nstr, description: 'The file’s text.' },
                  sendsByDay: { type: 'array', items: obj({ day: { ...str, format: 'date' }, sent: int, skipped: int }), description: 'Jobs sent and skipped per UTC day they fired on, oldest first; days without any are left out.' },
                }),
              ],
            }),
          },
          '400': badRequest,
          '401': unauthorized,
          '404': notFound('No campaign with this id.'),
        },
      },
    },
    '/campaigns/{id}/stats': {
      get: { summary: 'One campaign’s stats.', ...protectedRoute, parameters: [idParam('A campaign id.')], responses: { '200': { description: 'The stats.', content: json(CampaignStats) }, '401': unauthorized, '404': notFound('No campaign with this id.') } },
    },
    '/programme/stats': {
      get: {
        summary: 'The whole programme’s lift: customers sent any marketing mail against the global control group.',
        ...protectedRoute,
        responses: {
          '200': {
            description: 'Converted: with a conversion in any campaign; an order converting for two campaigns counts once in the revenue.',
            content: json(obj({ globalControlPercent: num, mailed: Group, control: Group, lift: Lift }, ['globalControlPercent', 'mailed', 'control', 'lift'])),
          },
          '401': unauthorized,
        },
      },
    },
    '/sunset/stats': {
      get: {
        summary: 'The sunset policy and its counts.',
        ...protectedRoute,
        responses: {
          '200': {
            description: 'Off (`enabled: false`, durations null) unless `sunset` is in `_settings.yaml`.',
            content: json(
              obj(
                {
                  enabled: { type: 'boolean' },
                  after: { ...nstr, description: 'ISO 8601 duration, e.g. P180D.' },
                  grace: nstr,
                  campaign: { ...nstr, description: 'The re-permission campaign.' },
                  sunset: { ...int, description: 'Customers whose marketing has stopped.' },
                  rePermissionSent: { ...int, description: 'Customers sent the re-permission mail.' },
                  reengaged: { ...int, description: 'Customers who opened or clicked after it.' },
                },
                ['enabled', 'after', 'grace', 'campaign', 'sunset', 'rePermissionSent', 'reengaged'],
              ),
            ),
          },
          '401': unauthorized,
        },
      },
    },
    '/contacts': {
      get: {
        summary: 'A contact by email address (any case), or the contacts whose name contains a text.',
        ...protectedRoute,
        parameters: [
          { name: 'email', in: 'query', required: false, schema: { ...str, format: 'email' }, description: 'Either this …' },
          { name: 'name', in: 'query', required: false, schema: { ...str, minLength: 2 }, description: '… or this: first name or full name containing it, any case.' },
        ],
        responses: {
          '200': {
            description: 'By email: the customer (the oldest contact when several share the address). By name: up to 20 contacts by customer id, `more` when there are others.',
            content: json({ oneOf: [obj({ customerId: str }), obj({ contacts: { type: 'array', items: obj({ customerId: str, firstName: nstr, name: nstr, email: nstr }) }, more: { type: 'boolean' } })] }),
          },
          '400': badRequest,
          '401': unauthorized,
          '404': notFound('No contact with this address.'),
        },
      },
    },
    '/contacts/{id}': {
      get: {
        summary: 'A contact as the scheduler knows it: locale, time zone, consent, stage and dates.',
        ...protectedRoute,
        parameters: [idParam('A customer id.')],
        responses: {
          '200': {
            description: 'The contact.',
            content: json(
              obj({
                customerId: str,
                email: nstr,
                firstName: nstr,
                locale: nstr,
                timeZone: { ...nstr, description: 'IANA zone; null: the store’s is used.' },
                stage: nstr,
                consent: obj({ state: nstr, marketingAllowed: { type: 'boolean' }, asOf: ntime, sequence: int }),
                preferences: obj({ topicsOptedOut: { type: 'array', items: str }, frequency: { enum: ['any', 'weekly', 'monthly'] } }),
                engagement: obj({ lastEngagedAt: ntime, rePermissionSentAt: ntime, sunsetAt: { ...ntime, description: 'Marketing stops (or stopped) from this instant unless an open, click or new subscription comes first.' } }),
                birthday: nstr,
                firstOrderDate: nstr,
                signupDate: nstr,
                asOf: time,
              }),
            ),
          },
          '401': unauthorized,
          '404': notFound('No contact with this id.'),
        },
      },
    },
    '/customers/{id}/jobs': {
      get: {
        summary: 'The customer’s jobs, newest first.',
        ...protectedRoute,
        parameters: [idParam('A customer id.')],
        responses: { '200': { description: 'The jobs.', content: json(obj({ jobs: { type: 'array', items: Job } })) }, '401': unauthorized, '404': notFound('Neither a contact nor a job for this id.') },
      },
    },
    '/customers/{id}/why': {
      get: {
        summary: 'Why the customer did or did not get a campaign, in plain language, from the jobs, the contact and the campaign’s trigger.',
        ...protectedRoute,
        parameters: [idParam('A customer id.'), { name: 'campaign', in: 'query', required: true, schema: str }],
        responses: {
          '200': {
            description: 'The answer (about the latest job) and the facts it rests on.',
            content: json(
              obj({
                campaignId: str,
                answer: str,
                facts: { type: 'array', items: obj({ kind: { enum: ['campaign', 'contact', 'consent', 'trigger', 'job'] }, text: str, at: time }, ['kind', 'text']) },
              }),
            ),
          },
          '400': badRequest,
          '401': unauthorized,
          '404': notFound('No such campaign, or neither a contact nor a job for this customer.'),
        },
      },
    },
    '/catalog/products': {
      get: {
        summary: 'Products the scheduler learned from events and imports, by id.',
        ...protectedRoute,
        parameters: [
          { name: 'q', in: 'query', required: false, schema: str, description: 'Part of a name, id, SKU or category, any case.' },
          { name: 'limit', in: 'query', required: false, schema: { ...int, minimum: 1, maximum: 500 }, description: 'At most this many (default 100).' },
        ],
        responses: {
          '200': {
            description: 'The products; `more` when others match.',
            content: json(
              obj({
                products: {
                  type: 'array',
                  items: obj({
                    productId: str,
                    sku: nstr,
                    name: nstr,
                    category: nstr,
                    url: nstr,
                    imageUrl: nstr,
                    stock: { type: ['integer', 'null'], description: 'Null: not known.' },
                    inStock: { type: ['boolean', 'null'] },
                    prices: { type: 'array', items: obj({ currency: str, amountMinor: int, amount: { type: 'number', description: 'Major units.' } }) },
                  }),
                },
                more: { type: 'boolean' },
              }),
            ),
          },
          '400': badRequest,
          '401': unauthorized,
        },
      },
    },
    '/customers/{id}/recommendations': {
      get: {
        summary: 'What the catalog would recommend the customer now (seeded with their interests and purchases), priced in their currency.',
        ...protectedRoute,
        parameters: [
          idParam('A customer id.'),
          { name: 'limit', in: 'query', required: false, schema: { ...int, minimum: 1, maximum: 12 } },
          { name: 'currency', in: 'query', required: false, schema: str, description: 'ISO 4217; default: the currency of the customer’s latest order, else the store’s.' },
        ],
        responses: {
          '200': {
            description: 'The recommendations, best first.',
            content: json(
              obj({
                customerId: str,
                currency: str,
                seeds: { type: 'array', items: str },
                recommendations: {
                  type: 'array',
                  items: obj(
                    {
                      name: str,
                      productId: str,
                      sku: str,
                      category: str,
                      url: str,
                      imageUrl: str,
                      price: { type: 'number', description: 'Major units of `currency`; absent when the catalog has no price in it and no rate converts one.' },
                      currency: str,
                      reason: { enum: ['bought_together', 'category_best_seller', 'best_seller', 'favourite', 'alternative'] },
                    },
                    ['name', 'reason'],
                  ),
                },
              }),
            ),
          },
          '400': badRequest,
          '401': unauthorized,
        },
      },
    },
    '/recommendations/evaluation': {
      get: {
        summary: 'Hit rate at 3 of the recommendations: each customer’s last order held out, the rest trained on, against best sellers.',
        ...protectedRoute,
        responses: {
          '200': {
            description: 'Customers evaluated (two orders or more, something new in the last) and both hit rates (0–1).',
            content: json(obj({ customers: int, hitRateAt3: { type: 'number' }, baselineHitRateAt3: { type: 'number' } })),
          },
          '401': unauthorized,
        },
      },
    },
    ...operatorApiPaths(),
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Lifecycle scheduler: read API', version: '1', description: 'Campaigns, contacts and jobs as the scheduler keeps them. Timestamps are ISO 8601 UTC; money is in major units keyed by currency.' },
    paths,
    components: { securitySchemes: { serviceToken: serviceTokenScheme } },
  };
}
