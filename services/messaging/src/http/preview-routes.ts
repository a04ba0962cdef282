import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { FastifyInstance } from '@lifecycle/kit';
import { createTemplateCatalog } from '../template-catalog.ts';
import { readSample, renderSample } from '../template-check.ts';
import { escapeHtml, page } from './pages.ts';

const Params = z.object({ templateId: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'template ids are kebab-case folder names') });
const Query = z.object({ locale: z.string().regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, 'a locale such as en or ja-JP').default('en') });

/** The newest modification time under the given folders: it changes whenever a marketer saves. */
async function newestChange(folders: string[]): Promise<number> {
  let newest = 0;
  for (const folder of folders) {
    const entries = await readdir(folder, { recursive: true }).catch(() => []);
    for (const entry of entries) newest = Math.max(newest, (await stat(join(folder, entry)).catch(() => null))?.mtimeMs ?? 0);
  }
  return newest;
}

const reloadScript = (stampUrl: string, stamp: number): string => `
<script>
  // Live reload for the preview page only: asks every second whether a template file changed.
  setInterval(async () => {
    try {
      const r = await fetch(${JSON.stringify(stampUrl)});
      if ((await r.json()).stamp !== ${stamp}) location.reload();
    } catch {}
  }, 1000);
</script>`;

/**
 * `GET /preview/:templateId?locale=ja`: the template rendered with its `sample.json`, read from
 * disk on every request and reloading itself when a file changes. Shows sample data only.
 */
export function previewRoutes(opts: { dir: string }) {
  const catalog = createTemplateCatalog({ dir: opts.dir, noCache: true });
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/preview/:templateId/stamp', async (request) => {
      const { templateId } = Params.parse(request.params);
      return { stamp: await newestChange([join(opts.dir, templateId), join(opts.dir, '_layouts'), join(opts.dir, '_partials')]) };
    });

    // What the console's preview offers: the locales the template has files for.
    app.get('/templates/:templateId', async (request, reply) => {
      const { templateId } = Params.parse(request.params);
      const lookup = await catalog.get(templateId);
      if (!lookup.ok) return reply.status(404).send({ error: lookup.error });
      return { templateId, locales: lookup.template.locales };
    });

    app.get('/preview/:templateId', async (request, reply) => {
      const { templateId } = Params.parse(request.params);
      const { locale } = Query.parse(request.query);
      const stamp = await newestChange([join(opts.dir, templateId), join(opts.dir, '_layouts'), join(opts.dir, '_partials')]);
      const live = reloadScript(`/preview/${templateId}/stamp`, stamp);
      const problem = (status: number, message: string) =>
        reply.status(status).type('text/html; charset=utf-8').send(page('Preview failed', `<h1>Preview failed</h1><pre>${escapeHtml(message)}</pre>${live}`));
      const lookup = await catalog.get(templateId);
      if (!lookup.ok) return problem(404, lookup.error);
      const sample = await readSample(opts.dir, templateId);
      if (!sample.ok) return problem(422, sample.error);
      const rendered = renderSample(lookup.template, sample.data, locale);
      if (!rendered.ok) return problem(422, rendered.error);
      const banner = `<div style="font:13px Helvetica,Arial,sans-serif;background:#2b2622;color:#fff;padding:8px 16px">Subject: <strong>${escapeHtml(rendered.content.subject)}</strong> · locales: ${lookup.template.locales.map((l) => `<a style="color:#fff" href="?locale=${escapeHtml(l)}">${escapeHtml(l)}</a>`).join(' ')}</div>`;
      const html = rendered.content.html.replace(/<body([^>]*)>/i, (m) => `${m}${banner}`).replace(/<\/body>/i, `${live}</body>`);
      return reply.type('text/html; charset=utf-8').send(html);
    });
  };
}
