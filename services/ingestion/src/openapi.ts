import { z } from 'zod';
import { AliasCall, IdentifyCall, knownEventProperties, PageCall, ScreenCall, TrackCall } from '@lifecycle/contracts';
import { openApi, operatorApiPaths, serviceTokenScheme } from '@lifecycle/kit';
import { BATCH_BODY_LIMIT, BATCH_MAX_EVENTS, CALL_BODY_LIMIT } from './tracking-api.ts';

const { json } = openApi;

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const FieldIssue = { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['field', 'message'] };

const errorResponses = {
  '400': {
    description: 'Unparsable JSON, or a call that does not match the Segment Spec; `issues` names each bad field and why.',
    content: json({ type: 'object', properties: { error: { type: 'string' }, reason: { type: 'string' }, issues: { type: 'array', items: FieldIssue } } }),
  },
  '401': { description: 'Missing, unknown or revoked write key (HTTP Basic, the key as user name).' },
  '413': { description: 'Body over the size limit, or a batch of more than 500 events.' },
  '503': {
    description: 'Kafka did not acknowledge the events in time. Resend after the `Retry-After` seconds; events that did reach Kafka are recognised by `messageId` and kept once.',
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
  },
};

/**
 * The OpenAPI description of the tracking API, generated from the same zod schemas the service
 * validates with, so the two cannot drift apart.
 */
export function openApiDocument(): Record<string, unknown> {
  const calls = { track: TrackCall, identify: IdentifyCall, alias: AliasCall, page: PageCall, screen: ScreenCall } as const;
  const schemas: Record<string, unknown> = {};
  for (const [type, schema] of Object.entries(calls)) schemas[`${type[0]?.toUpperCase()}${type.slice(1)}Call`] = jsonSchema(schema);
  for (const [event, schema] of Object.entries(knownEventProperties)) {
    schemas[`Properties: ${event}`] = { ...jsonSchema(schema), description: `\`properties\` of a track call with \`event: "${event}"\`.` };
  }
  const paths: Record<string, unknown> = {};
  for (const type of Object.keys(calls)) {
    paths[`/v1/${type}`] = {
      post: {
        summary: `One ${type} call (at most ${CALL_BODY_LIMIT / 1024} KB). \`type\` may be omitted; \`timestamp\` defaults to the time of receipt. With \`sentAt\` (the client's clock when it sent the call) a skewed client clock is corrected.`,
        security: [{ writeKey: [] }],
        requestBody: { required: true, content: json(ref(`${type[0]?.toUpperCase()}${type.slice(1)}Call`)) },
        responses: { '200': { description: 'The call is on Kafka.', content: json({ type: 'object', properties: { success: { const: true } } }) }, ...errorResponses },
      },
    };
  }
  paths['/v1/batch'] = {
    post: {
      summary: `Up to ${BATCH_MAX_EVENTS} calls of any type (at most ${BATCH_BODY_LIMIT / 1024} KB). Good calls are accepted even when others are rejected.`,
      security: [{ writeKey: [] }],
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          properties: {
            batch: { type: 'array', maxItems: BATCH_MAX_EVENTS, items: { oneOf: Object.keys(calls).map((t) => ref(`${t[0]?.toUpperCase()}${t.slice(1)}Call`)) } },
            context: { type: 'object', description: 'Applies to every call of the batch; a call\'s own keys win.' },
            sentAt: { type: 'string', format: 'date-time', description: 'The client\'s clock when it sent the batch; a call\'s own `sentAt` wins. Corrects the calls\' timestamps for the skew of that clock.' },
          },
          required: ['batch'],
        }),
      },
      responses: {
        '200': { description: 'Every call is on Kafka.', content: json({ type: 'object', properties: { success: { const: true }, accepted: { type: 'integer' } } }) },
        ...errorResponses,
        '400': {
          description: 'Some calls were rejected (listed by index with their field errors); the others are on Kafka. Or the body is not a batch.',
          content: json({
            type: 'object',
            properties: {
              error: { type: 'string' },
              accepted: { type: 'integer' },
              rejected: {
                type: 'array',
                items: { type: 'object', properties: { index: { type: 'integer' }, messageId: { type: ['string', 'null'] }, reason: { type: 'string' }, issues: { type: 'array', items: FieldIssue } } },
              },
            },
          }),
        },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lifecycle ingestion: Segment-compatible tracking API',
      version: '1',
      description:
        'Point a Segment analytics client at this host. Calls are validated against the Segment Spec and, for the events listed under components, their documented properties; other event names pass through as custom events.',
    },
    paths: { ...paths, ...operatorApiPaths() },
    components: { schemas, securitySchemes: { writeKey: { type: 'http', scheme: 'basic', description: 'The write key as user name, empty password.' }, serviceToken: serviceTokenScheme } },
  };
}
