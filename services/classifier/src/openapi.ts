import { z } from 'zod';
import { Stage } from '@lifecycle/contracts';
import { Profile } from './domain/profile.ts';
import { openApi, operatorApiPaths, serviceTokenScheme } from '@lifecycle/kit';

const { json, str, time, int, obj, protectedRoute, badRequest, unauthorized } = openApi;

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const num = { type: ['number', 'null'] } as const;
const period = [
  { name: 'from', in: 'query', required: true, schema: time, description: 'Start of the period (inclusive), ISO 8601 with offset.' },
  { name: 'to', in: 'query', required: true, schema: time, description: 'End of the period (exclusive), after `from`.' },
];
const move = obj({ from: { type: ['string', 'null'], description: 'Null for a customer’s first stage.' }, to: str, count: int });

/** The OpenAPI description of the classifier's read API (and the kit's operations routes). */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/customers/{id}': {
      get: {
        summary: 'One customer: the profile (with its last 50 events, newest last), RFM scores and the stage history with reasons.',
        ...protectedRoute,
        parameters: [{ name: 'id', in: 'path', required: true, schema: str }],
        responses: {
          '200': {
            description: 'The customer.',
            content: json(
              obj({
                profile: { allOf: [ref('Profile')], description: 'The profile plus `orderCount` and the order figures (revenue, averageOrderValue by currency, medianGapDays).' },
                rfm: {
                  type: ['object', 'null'],
                  properties: { recency: int, frequency: int, monetary: int, monetaryCurrency: str, segment: str, at: time },
                  description: 'Null until the first RFM recompute scored the customer.',
                },
                history: { type: 'array', items: obj({ from: { type: ['string', 'null'] }, to: str, reason: str, eventId: str, occurredAt: time }) },
              }),
            ),
          },
          '401': unauthorized,
          '404': { description: 'No customer with this id.', content: json(obj({ error: str })) },
        },
      },
    },
    '/customers': {
      get: {
        summary: 'Customers by id, a page at a time, optionally of one stage.',
        ...protectedRoute,
        parameters: [
          { name: 'stage', in: 'query', required: false, schema: ref('Stage') },
          { name: 'limit', in: 'query', required: false, schema: { ...int, minimum: 1, maximum: 500, default: 50 } },
          { name: 'cursor', in: 'query', required: false, schema: str, description: 'The `nextCursor` of the previous page.' },
        ],
        responses: {
          '200': {
            description: 'A page.',
            content: json(
              obj({
                customers: { type: 'array', items: obj({ customerId: str, stage: { type: ['string', 'null'] }, orderCount: int, lastOrderAt: { type: ['string', 'null'] }, lastEventAt: time }) },
                nextCursor: { type: ['string', 'null'] },
              }),
            ),
          },
          '400': badRequest,
          '401': unauthorized,
        },
      },
    },
    '/stages': {
      get: {
        summary: 'Customers per stage, every stage listed.',
        ...protectedRoute,
        responses: { '200': { description: 'Counts.', content: json(obj({ stages: { type: 'object', additionalProperties: int } })) }, '401': unauthorized },
      },
    },
    '/metrics/retention': {
      get: {
        summary: 'Retention, churn, repeat purchase rate, AOV and historic CLV per currency (major units), NPS and stage moves for a period.',
        ...protectedRoute,
        parameters: period,
        responses: {
          '200': {
            description: 'The figures; a rate is null when nothing could be counted.',
            content: json(
              obj({
                from: time,
                to: time,
                customerRetentionRate: num,
                churnRate: num,
                repeatPurchaseRate: num,
                byCurrency: { type: 'object', additionalProperties: obj({ averageOrderValue: num, historicCustomerLifetimeValue: num, revenue: { type: 'number' }, orders: int }) },
                nps: { type: ['integer', 'null'] },
                stageMoves: { type: 'array', items: move },
              }),
            ),
          },
          '400': badRequest,
          '401': unauthorized,
        },
      },
    },
    '/metrics/stage-flows': {
      get: {
        summary: 'Stage moves (from stage history) per UTC month, week (starting Monday) or day. Every bucket that overlaps the period is listed, empty ones too.',
        ...protectedRoute,
        parameters: [...period, { name: 'bucket', in: 'query', required: false, schema: { enum: ['month', 'week', 'day'], default: 'month' }, description: 'By day at most 3,700 days.' }],
        responses: {
          '200': {
            description: 'The buckets in time order.',
            content: json(obj({ from: time, to: time, bucket: str, buckets: { type: 'array', items: obj({ start: { ...time, description: 'The bucket’s first instant (UTC).' }, moves: { type: 'array', items: move } }) } })),
          },
          '400': badRequest,
          '401': unauthorized,
        },
      },
    },
    ...operatorApiPaths(),
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Lifecycle classifier: read API', version: '1', description: 'Customer profiles, lifecycle stages and the figures derived from them. Timestamps are ISO 8601 UTC.' },
    paths,
    components: { schemas: { Profile: jsonSchema(Profile), Stage: jsonSchema(Stage) }, securitySchemes: { serviceToken: serviceTokenScheme } },
  };
}
