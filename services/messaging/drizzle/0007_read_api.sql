CREATE TABLE "messaging"."consent_history" (
	"customer_id" text NOT NULL,
	"sequence" integer NOT NULL,
	"state" text NOT NULL,
	"previous_state" text,
	"source" text NOT NULL,
	"consent_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	CONSTRAINT "consent_history_customer_id_sequence_pk" PRIMARY KEY("customer_id","sequence")
);
--> statement-breakpoint
ALTER TABLE "messaging"."sends" ADD COLUMN "opened_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messaging"."sends" ADD COLUMN "clicked_at" timestamp with time zone;