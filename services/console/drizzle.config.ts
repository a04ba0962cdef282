import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/console/src/db/schema.ts',
  out: './services/console/drizzle',
  schemaFilter: ['console'],
  // Where start-up (the kit's runMigrations) records applied migrations: in the service's own schema.
  migrations: { schema: 'console', table: '__drizzle_migrations' },
});
