import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/scheduler/src/db/schema.ts',
  out: './services/scheduler/drizzle',
  schemaFilter: ["scheduling"],
});
