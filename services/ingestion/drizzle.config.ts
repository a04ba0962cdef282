import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/ingestion/src/db/schema.ts',
  out: './services/ingestion/drizzle',
  schemaFilter: ['ingestion'],
  // Where start-up (the kit's runMigrations) records applied migrations: in the service's own schema.
  migrations: { schema: 'ingestion', table: '__drizzle_migrations' },
});
