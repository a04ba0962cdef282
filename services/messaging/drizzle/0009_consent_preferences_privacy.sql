CREATE TABLE "messaging"."erased_addresses" (
	"email_hash" text PRIMARY KEY NOT NULL,
	"erased_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messaging"."privacy_requests" (
	"request_id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"customer_id" text NOT NULL,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"confirmations" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"exported" jsonb,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "messaging"."consent" ADD COLUMN "topics_opted_out" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "messaging"."consent" ADD COLUMN "frequency" text DEFAULT 'any' NOT NULL;--> statement-breakpoint
ALTER TABLE "messaging"."consent" ADD COLUMN "preferences_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messaging"."consent" ADD COLUMN "opt_in" text;--> statement-breakpoint
ALTER TABLE "messaging"."consent" ADD COLUMN "opt_in_proof" jsonb;--> statement-breakpoint
CREATE INDEX "privacy_requests_customer_idx" ON "messaging"."privacy_requests" USING btree ("customer_id");