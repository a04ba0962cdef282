ALTER TABLE "classifier"."profiles" ADD COLUMN "next_check_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "classifier"."profiles" ADD COLUMN "data" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
CREATE INDEX "profiles_stage_idx" ON "classifier"."profiles" USING btree ("stage","customer_id");