import type { ReactNode } from 'react';

/** A titled figure whose definition shows on hover (title) and to screen readers (description). */
export function Figure({ title, definition, children, wide = false, testId }: { title: string; definition: string | undefined; children: ReactNode; wide?: boolean; testId?: string }) {
  const id = `def-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section className={wide ? 'card figure wide' : 'card figure'} aria-describedby={definition !== undefined ? id : undefined} data-testid={testId}>
      <h2 title={definition}>
        {title}
        {definition !== undefined ? (
          <span className="info" aria-hidden="true" title={definition}>
            ⓘ
          </span>
        ) : null}
      </h2>
      {definition !== undefined ? (
        <p id={id} className="definition">
          {definition}
        </p>
      ) : null}
      {children}
    </section>
  );
}
