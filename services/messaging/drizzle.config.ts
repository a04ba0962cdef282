import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/messaging/src/db/schema.ts',
  out: './services/messaging/drizzle',
  schemaFilter: ['messaging'],
});
