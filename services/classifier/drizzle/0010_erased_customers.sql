CREATE TABLE "classifier"."erased_customers" (
	"customer_hash" text PRIMARY KEY NOT NULL,
	"erased_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
-- A rebuild drops the classifier's schema but sets the erased customers aside first (rebuild.ts): bring them back.
DO $$ BEGIN
  IF to_regclass('classifier_kept.erased_customers') IS NOT NULL THEN
    INSERT INTO "classifier"."erased_customers" SELECT "customer_hash", "erased_at" FROM "classifier_kept"."erased_customers" ON CONFLICT DO NOTHING;
    DROP SCHEMA "classifier_kept" CASCADE;
  END IF;
END $$;
