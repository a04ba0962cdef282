import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, ensureDatabase, runMigrations } from '@lifecycle/kit';
import { repoRoot } from '@lifecycle/tools/kafka-broker';
import { startServiceProcess, type ServiceProcess } from '@lifecycle/tools/service-process';
import { schemaNames, schemaProblems, serviceSchemas } from '@lifecycle/tools/service-schemas';
import { createTestInfra, serviceEnv, unusedDatabaseUrl } from '@lifecycle/tools/test-kit';

/**
 * Services deployed independently start whenever their orchestrator starts them: all at once, on
 * a database nobody has created yet, each from its own package directory with only its own
 * environment.
 */

/** What each service's schema holds when every migration has run, and that nothing else was created. */
async function expectCompleteSchemas(databaseUrl: string): Promise<void> {
  const pool = createPool(databaseUrl, 1);
  try {
    for (const s of serviceSchemas) expect(await schemaProblems(pool, s.schema, s.migrationsFolder)).toEqual([]);
    expect(await schemaNames(pool)).toEqual(['classifier', 'ingestion', 'messaging', 'public', 'scheduler']);
  } finally {
    await pool.end();
  }
}

describe('the four services starting at the same moment on a database that does not exist yet', () => {
  it('all apply their migrations, two replicas each, five times over', async () => {
    for (let round = 0; round < 5; round++) {
      const url = unusedDatabaseUrl();
      // What openRuntime does at start-up, eight times at once.
      const starts = await Promise.allSettled(
        serviceSchemas.flatMap((s) =>
          [1, 2].map(async () => {
            await ensureDatabase(url);
            return { schema: s.schema, report: await runMigrations(url, { schema: s.schema, migrationsFolder: s.migrationsFolder }) };
          }),
        ),
      );
      expect(starts.filter((s) => s.status === 'rejected'), `round ${round}`).toEqual([]);
      await expectCompleteSchemas(url);
    }
  });

  describe('as processes, each from its own package directory with only its own environment', () => {
    const services: ServiceProcess[] = [];

    afterAll(async () => {
      const codes = await Promise.all(services.map(async (s) => [s.name, await s.stop(15_000)] as const));
      expect(Object.fromEntries(codes)).toEqual({ ingestion: 0, classifier: 0, scheduler: 0, messaging: 0 });
    });

    it('become ready with complete schemas, and find the repository’s campaigns and templates', async () => {
      const infra = await createTestInfra();
      const databaseUrl = unusedDatabaseUrl();
      const env = { ...serviceEnv(infra), DATABASE_URL: databaseUrl };
      const started = await Promise.allSettled(
        ['ingestion', 'classifier', 'scheduler', 'messaging'].map((name) => startServiceProcess(name, env, 90_000, { cwd: 'package', environment: 'only-given' })),
      );
      services.push(...started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])));
      expect(started.filter((s) => s.status === 'rejected')).toEqual([]);

      await expectCompleteSchemas(databaseUrl);

      // Neither folder is in the package directory the scheduler and messaging run from.
      const shipped = (await readdir(join(repoRoot, 'campaigns'))).filter((f) => f.endsWith('.yaml') && !f.startsWith('_'));
      const scheduler = services.find((s) => s.name === 'scheduler');
      const campaigns: { campaigns: { id: string }[] } = await (await fetch(`${scheduler?.url}/campaigns`)).json();
      expect(campaigns.campaigns.map((c) => `${c.id}.yaml`).sort()).toEqual(shipped.sort());
      const messaging = services.find((s) => s.name === 'messaging');
      const preview = await fetch(`${messaging?.url}/preview/post-purchase-thank-you`);
      expect(preview.status).toBe(200);
      expect(await preview.text()).toContain('Subject:');
    });
  });

  it('finds a folder given relative to the working directory, and names the variable when it is not there', async () => {
    const infra = await createTestInfra();
    const env = { ...serviceEnv(infra), CAMPAIGNS_DIR: 'campaigns' };
    // From the package directory `campaigns` is services/scheduler/campaigns, which does not exist.
    await expect(startServiceProcess('scheduler', env, 60_000, { cwd: 'package', environment: 'only-given' })).rejects.toThrow(
      new RegExp(`exited with 2[\\s\\S]*CAMPAIGNS_DIR: no folder at ${join(repoRoot, 'services', 'scheduler', 'campaigns')}`),
    );
    const fromRoot = await startServiceProcess('scheduler', env, 60_000, { environment: 'only-given' });
    try {
      expect((await fetch(`${fromRoot.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await fromRoot.stop(15_000)).toBe(0);
    }
  });
});
