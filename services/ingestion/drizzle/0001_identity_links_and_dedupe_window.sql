CREATE TABLE "ingestion"."identity_links" (
	"anonymous_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"message_id" text NOT NULL,
	"linked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "seen_messages_first_seen_at_idx" ON "ingestion"."seen_messages" USING btree ("first_seen_at");