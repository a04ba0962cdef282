import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/ingestion/src/db/schema.ts',
  out: './services/ingestion/drizzle',
  schemaFilter: ['ingestion'],
});
