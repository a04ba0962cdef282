import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/scheduler/src/db/schema.ts',
  out: './services/scheduler/drizzle',
  schemaFilter: ['scheduler'],
  // Where start-up (the kit's runMigrations) records applied migrations: in the service's own schema.
  migrations: { schema: 'scheduler', table: '__drizzle_migrations' },
});
