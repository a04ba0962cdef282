import { z } from 'zod';
import type { FastifyInstance } from '@lifecycle/kit';
import type { Coupons } from '../coupons.ts';

const StatsQuery = z.object({ campaignId: z.string().min(1).optional() });

/** `GET /coupons/stats[?campaignId=]`: pools (available, low) and codes issued and redeemed per campaign and variant. */
export function couponRoutes(opts: { coupons: Coupons }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/coupons/stats', async (request) => {
      const { campaignId } = StatsQuery.parse(request.query);
      return opts.coupons.stats(campaignId);
    });
  };
}
