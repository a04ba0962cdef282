CREATE TYPE "messaging"."suppression_reason" AS ENUM('unsubscribed', 'bounced', 'spam-report');--> statement-breakpoint
CREATE TYPE "messaging"."suppression_source" AS ENUM('unsubscribe-link', 'email-unsubscribed-event', 'sendgrid-webhook');--> statement-breakpoint
ALTER TYPE "messaging"."send_status" ADD VALUE 'suppressed';--> statement-breakpoint
CREATE TABLE "messaging"."suppressions" (
	"email" text PRIMARY KEY NOT NULL,
	"reason" "messaging"."suppression_reason" NOT NULL,
	"source" "messaging"."suppression_source" NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
