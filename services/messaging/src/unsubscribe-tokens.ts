import { randomBytes } from 'node:crypto';
import type { AddressIdsRepository } from './db/address-ids-repository.ts';
import { normalizeAddress } from './domain/suppression.ts';
import { newAddressId, signToken, verifyToken, type SecretUsed, type TokenPurpose, type TokenSecrets } from './domain/unsubscribe-token.ts';

export type TokenResolution =
  | { ok: true; email: string; kind: 'id' | 'legacy'; secret: SecretUsed }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'legacy-refused' | 'unknown-id' };

/** Opaque link tokens for an address, backed by `messaging.address_ids`. */
export interface UnsubscribeTokens {
  /** The token for an address's links; its id is created on first use. */
  issue: (email: string, now: Date, purpose?: TokenPurpose) => Promise<string>;
  /** `issue` for many addresses at once, by the address as given. */
  issueMany: (emails: readonly string[], now: Date, purpose?: TokenPurpose) => Promise<Map<string, string>>;
  /** The address a token stands for, if it is genuine. */
  resolve: (token: string, purpose?: TokenPurpose) => Promise<TokenResolution>;
}

export interface UnsubscribeTokensOptions {
  ids: AddressIdsRepository;
  secrets: TokenSecrets;
  /** Accept the address-bearing tokens of mail sent before opaque ones (see the README). */
  acceptLegacy: boolean;
  /** 16 random bytes per new address id; tests may fix it. */
  random?: (size: number) => Buffer;
}

export function createUnsubscribeTokens(opts: UnsubscribeTokensOptions): UnsubscribeTokens {
  const random = opts.random ?? randomBytes;
  return {
    issue: async (email, now, purpose = 'unsubscribe') => {
      const id = await opts.ids.idFor(email, () => newAddressId(random), now);
      return signToken(id, opts.secrets.current, purpose);
    },
    issueMany: async (emails, now, purpose = 'unsubscribe') => {
      const ids = await opts.ids.idsFor(emails, () => newAddressId(random), now);
      const tokens = new Map<string, string>();
      for (const email of emails) {
        const id = ids.get(normalizeAddress(email));
        if (id === undefined) throw new Error('no address id for an address just given one');
        tokens.set(email, signToken(id, opts.secrets.current, purpose));
      }
      return tokens;
    },
    resolve: async (token, purpose = 'unsubscribe') => {
      const checked = verifyToken(token, opts.secrets, { purpose, acceptLegacy: opts.acceptLegacy });
      if (!checked.ok) return checked;
      if (checked.kind === 'legacy') return { ok: true, email: checked.email, kind: 'legacy', secret: checked.secret };
      const email = await opts.ids.addressOf(checked.id);
      if (email === undefined) return { ok: false, reason: 'unknown-id' };
      return { ok: true, email, kind: 'id', secret: checked.secret };
    },
  };
}
