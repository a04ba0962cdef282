ALTER TABLE "scheduler"."contacts" ADD COLUMN "consent_state" text;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "consent_sequence" integer DEFAULT 0 NOT NULL;