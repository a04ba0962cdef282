import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { z } from 'zod';
import { ApiError, type ApiClient } from './api-client.ts';

export const ApiContext = createContext<ApiClient | null>(null);

export function useApiClient(): ApiClient {
  const client = useContext(ApiContext);
  if (client === null) throw new Error('useApiClient outside <ApiContext.Provider>');
  return client;
}

export type Loadable<T> = { state: 'loading' } | { state: 'error'; error: ApiError } | { state: 'ok'; data: T };

function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'Something went wrong in this page. Reload it and try again.');
}

/**
 * GET a path and parse it; `reload` fetches again and keeps showing the data it has meanwhile.
 * A null path loads nothing (and stays loading).
 */
export function useApi<S extends z.ZodType>(path: string | null, schema: S): Loadable<z.infer<S>> & { reload: () => void } {
  const client = useApiClient();
  const [result, setResult] = useState<{ path: string | null; value: Loadable<z.infer<S>> }>({ path: null, value: { state: 'loading' } });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setResult((prev) => (prev.path === path && prev.value.state === 'ok' ? prev : { path, value: { state: 'loading' } }));
    client.get(path, schema).then(
      (data) => live && setResult({ path, value: { state: 'ok', data } }),
      (err: unknown) => live && setResult({ path, value: { state: 'error', error: asApiError(err) } }),
    );
    return () => {
      live = false;
    };
  }, [client, path, schema, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  // Until the effect has run for a new path, what is held belongs to the old one.
  const value: Loadable<z.infer<S>> = result.path === path ? result.value : { state: 'loading' };
  return { ...value, reload };
}

export { asApiError };
