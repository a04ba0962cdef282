/**
 * The OpenAPI paths of the routes every service gets from the kit (dead letters, consumer lag),
 * as docs/console.md section 2 agrees them. Each service's OpenAPI document merges these paths:
 * the kit owns the routes (`installOperatorApi`), so it owns their description too.
 */
/** Small builders of OpenAPI 3.1 schema objects, shared by the services' documents. */
export const openApi = {
  json: (schema: unknown) => ({ 'application/json': { schema } }),
  str: { type: 'string' } as const,
  nstr: { type: ['string', 'null'] } as const,
  time: { type: 'string', format: 'date-time' } as const,
  ntime: { type: ['string', 'null'], format: 'date-time' } as const,
  int: { type: 'integer' } as const,
  obj: (properties: Record<string, unknown>, required = Object.keys(properties)) => ({ type: 'object', properties, required }),
  /** A route that needs the service token when the service has one. */
  protectedRoute: { security: [{ serviceToken: [] }] },
  unauthorized: { description: 'Missing or wrong service token.' },
  badRequest: {
    description: 'A query field, parameter or body field is missing or wrong; `issues` names each field and why.',
    content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'string' }, issues: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['field', 'message'] } } }, required: ['error', 'issues'] } } },
  },
  notFound: (what: string) => ({ description: what, content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] } } } }),
};
const { json, str, int, obj, badRequest } = openApi;

const DeadLetterRecord = obj({
  topic: { ...str, description: 'The dead-letter topic (`<source topic>.dlq`).' },
  partition: int,
  offset: { ...str, description: 'Offset in the dead-letter topic.' },
  sourceTopic: str,
  sourcePartition: { type: ['integer', 'null'], description: 'Null for a record on the topic that is not a dead letter the services wrote.' },
  sourceOffset: { type: ['string', 'null'] },
  reason: str,
  errors: { type: 'array', items: str },
  attempts: int,
  deadLetteredAt: { ...str, format: 'date-time' },
  key: { type: ['string', 'null'] },
  valueUtf8: { type: ['string', 'null'], description: 'The original bytes as text, null when they are not valid UTF-8.' },
  valueBase64: { type: ['string', 'null'], description: 'The original bytes; null when the original record had none.' },
});

export function operatorApiPaths(): Record<string, unknown> {
  return {
    '/dead-letters': {
      get: {
        summary: 'Dead letters of the topics this service consumes, per dead-letter topic and reason.',
        tags: ['operations'],
        security: [{ serviceToken: [] }],
        responses: {
          '200': {
            description: 'One entry per dead-letter topic.',
            content: json(obj({ topics: { type: 'array', items: obj({ topic: str, sourceTopic: str, total: int, truncated: { type: 'boolean', description: 'More records than the scan cap (the newest are counted).' }, byReason: { type: 'array', items: obj({ reason: str, count: int }) } }) } })),
          },
          '401': { description: 'Missing or wrong service token.' },
        },
      },
    },
    '/dead-letters/records': {
      get: {
        summary: 'The records of one dead-letter topic, optionally of one reason.',
        tags: ['operations'],
        security: [{ serviceToken: [] }],
        parameters: [
          { name: 'topic', in: 'query', required: true, schema: str, description: 'A dead-letter topic as `GET /dead-letters` lists it.' },
          { name: 'reason', in: 'query', required: false, schema: str },
          { name: 'limit', in: 'query', required: false, schema: { ...int, minimum: 1, maximum: 1000, default: 50 } },
        ],
        responses: { '200': { description: 'The records, newest first.', content: json(obj({ records: { type: 'array', items: DeadLetterRecord }, truncated: { type: 'boolean' } })) }, '400': badRequest, '401': { description: 'Missing or wrong service token.' } },
      },
    },
    '/dead-letters/republish': {
      post: {
        summary: 'Produces dead-lettered records again to their source topic: the original bytes with the original key (consumers are idempotent).',
        tags: ['operations'],
        security: [{ serviceToken: [] }],
        requestBody: {
          required: true,
          content: json({
            oneOf: [
              { ...obj({ topic: str, partition: int, offset: str }), description: 'One record.' },
              { ...obj({ topic: str, reason: str }), description: 'Every record of the topic with this reason.' },
            ],
          }),
        },
        responses: {
          '200': { description: 'What was produced again.', content: json(
            obj(
              {
                republished: { type: 'array', items: obj({ partition: int, offset: str, sourceTopic: str }) },
                skipped: { type: 'array', description: 'Chosen records with no original bytes to produce.', items: obj({ partition: int, offset: str, why: str }) },
              },
              ['republished'],
            ),
          ) },
          '400': badRequest,
          '401': { description: 'Missing or wrong service token.' },
          '404': { description: 'No record at that partition and offset.' },
        },
      },
    },
    '/admin/consumer-lag': {
      get: {
        summary: 'Lag of the consumer groups this service runs, per topic partition.',
        tags: ['operations'],
        security: [{ serviceToken: [] }],
        responses: {
          '200': {
            description: 'One entry per group and partition.',
            content: json(obj({ groups: { type: 'array', items: obj({ groupId: str, topic: str, partition: int, lag: int, committed: { type: ['string', 'null'], description: 'Committed offset; null when the group has committed nothing.' }, high: { ...str, description: 'High watermark.' } }) } })),
          },
          '401': { description: 'Missing or wrong service token.' },
        },
      },
    },
  };
}

/** The service token (`SERVICE_TOKEN`), required on protected routes when it is set. */
export const serviceTokenScheme = { type: 'http', scheme: 'bearer', description: 'The `SERVICE_TOKEN` shared by the services and the console; required on every protected route when the service is started with one.' };
