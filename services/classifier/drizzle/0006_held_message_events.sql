CREATE TABLE "classifier"."held_message_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"customer_id" text NOT NULL,
	"event" jsonb NOT NULL,
	"held_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "held_message_events_customer_idx" ON "classifier"."held_message_events" USING btree ("customer_id");