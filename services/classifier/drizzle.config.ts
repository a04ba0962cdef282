import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/classifier/src/db/schema.ts',
  out: './services/classifier/drizzle',
  schemaFilter: ["lifecycle"],
});
