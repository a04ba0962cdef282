import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/messaging/src/db/schema.ts',
  out: './services/messaging/drizzle',
  schemaFilter: ['messaging'],
  // Where start-up (the kit's runMigrations) records applied migrations: in the service's own schema.
  migrations: { schema: 'messaging', table: '__drizzle_migrations' },
});
