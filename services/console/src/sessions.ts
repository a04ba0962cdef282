import { randomBytes } from 'node:crypto';

export interface Session {
  csrfToken: string;
  expiresAt: number;
}

/**
 * Logins held in memory: one console replica, and a restart logs everyone out. The session id is
 * 32 random bytes; the CSRF token is another 32, handed to the app in the login answer.
 */
export function createSessionStore(opts: { ttlMs: number; now: () => number }) {
  const sessions = new Map<string, Session>();
  const sweep = (): void => {
    const now = opts.now();
    for (const [id, s] of sessions) if (s.expiresAt <= now) sessions.delete(id);
  };
  return {
    create(): { id: string; session: Session } {
      sweep();
      const id = randomBytes(32).toString('base64url');
      const session = { csrfToken: randomBytes(32).toString('base64url'), expiresAt: opts.now() + opts.ttlMs };
      sessions.set(id, session);
      return { id, session };
    },
    get(id: string | undefined): Session | undefined {
      if (id === undefined) return undefined;
      const session = sessions.get(id);
      if (session === undefined) return undefined;
      if (session.expiresAt <= opts.now()) {
        sessions.delete(id);
        return undefined;
      }
      return session;
    },
    delete(id: string | undefined): void {
      if (id !== undefined) sessions.delete(id);
    },
  };
}
export type SessionStore = ReturnType<typeof createSessionStore>;

/**
 * Failed logins per address in a sliding window: after `max` failures within `windowMs` an
 * address is refused until the oldest falls out. A successful login clears the address.
 */
export function createLoginLimiter(opts: { max: number; windowMs: number; now: () => number }) {
  const failures = new Map<string, number[]>();
  const recent = (address: string): number[] => {
    const since = opts.now() - opts.windowMs;
    const kept = (failures.get(address) ?? []).filter((t) => t > since);
    if (kept.length === 0) failures.delete(address);
    else failures.set(address, kept);
    return kept;
  };
  return {
    /** Milliseconds until the address may try again, or 0 when it may now. */
    retryAfterMs(address: string): number {
      const kept = recent(address);
      if (kept.length < opts.max) return 0;
      return Math.max(1, (kept[kept.length - opts.max] ?? 0) + opts.windowMs - opts.now());
    },
    failed(address: string): void {
      // Bounds the map's memory when many addresses try: forget the oldest address first.
      if (!failures.has(address) && failures.size >= 10_000) failures.delete(failures.keys().next().value ?? '');
      failures.set(address, [...recent(address), opts.now()]);
    },
    succeeded(address: string): void {
      failures.delete(address);
    },
  };
}
export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
