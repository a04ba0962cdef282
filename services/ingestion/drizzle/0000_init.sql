CREATE SCHEMA "ingestion";
--> statement-breakpoint
CREATE TABLE "ingestion"."seen_messages" (
	"message_id" text PRIMARY KEY NOT NULL,
	"customer_id" text NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
