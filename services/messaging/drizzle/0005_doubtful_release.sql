ALTER TABLE "messaging"."sends" ADD COLUMN "request" jsonb;--> statement-breakpoint
ALTER TABLE "messaging"."sends" ADD COLUMN "released_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "sends_doubtful_idx" ON "messaging"."sends" USING btree ("updated_at") WHERE status = 'doubtful';