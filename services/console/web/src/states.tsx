import type { ReactNode } from 'react';
import type { ApiError } from './api-client.ts';

export function Loading({ what }: { what?: string }) {
  return (
    <p role="status" className="state state-loading" aria-live="polite">
      Loading…{what !== undefined ? <span className="visually-hidden"> {what}</span> : null}
    </p>
  );
}

export function ErrorAlert({ error, onRetry }: { error: ApiError | Error; onRetry?: () => void }) {
  return (
    <div role="alert" className="state state-error">
      <p>{error.message}</p>
      {onRetry !== undefined ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** An empty state says what would fill it. */
export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}
