import { z } from 'zod';
import { PrivacyKind } from '@lifecycle/contracts';
import type { Database, FastifyInstance, Outbox, Pool } from '@lifecycle/kit';
import { createPrivacyRequest, readPrivacyRequest } from '../privacy-coordinator.ts';

const NewRequest = z.object({
  customerId: z.string().trim().min(1),
  kind: PrivacyKind,
  requestedBy: z.string().trim().min(1).default('api'),
});
const RequestParams = z.object({ id: z.string().min(1) });

/**
 * Privacy requests (service token required, like every admin route): `POST /admin/privacy/requests`
 * records an erase or export and publishes it to every service; `GET /admin/privacy/requests/:id`
 * shows which services have confirmed (and an export's data once they have).
 */
export function privacyRoutes(opts: { pool: Pool; db: Database; outbox: Outbox; now: () => Date }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post('/admin/privacy/requests', async (request, reply) => {
      const input = NewRequest.parse(request.body ?? {});
      const created = await createPrivacyRequest(opts, input);
      request.log.info({ requestId: created.requestId, customerId: input.customerId, kind: input.kind }, 'privacy request recorded');
      return reply.status(202).send(created);
    });

    app.get('/admin/privacy/requests/:id', async (request, reply) => {
      const { id } = RequestParams.parse(request.params);
      const found = await readPrivacyRequest(opts.db, id);
      if (found === null) return reply.status(404).send({ error: `no privacy request ${id}` });
      return found;
    });
  };
}
