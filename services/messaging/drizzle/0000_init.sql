CREATE SCHEMA "messaging";
--> statement-breakpoint
CREATE TYPE "messaging"."send_status" AS ENUM('sending', 'sent', 'failed', 'doubtful');--> statement-breakpoint
CREATE TABLE "messaging"."sends" (
	"dedupe_key" text PRIMARY KEY NOT NULL,
	"status" "messaging"."send_status" NOT NULL,
	"message_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"campaign_id" text NOT NULL,
	"template_id" text NOT NULL,
	"provider_message_id" text,
	"error" text,
	"claimed_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"reported_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "sends_customer_id_idx" ON "messaging"."sends" USING btree ("customer_id");