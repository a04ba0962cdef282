import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/classifier/src/db/schema.ts',
  out: './services/classifier/drizzle',
  schemaFilter: ['classifier'],
  // Where start-up (the kit's runMigrations) records applied migrations: in the service's own schema.
  migrations: { schema: 'classifier', table: '__drizzle_migrations' },
});
