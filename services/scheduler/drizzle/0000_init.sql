CREATE SCHEMA "scheduler";
--> statement-breakpoint
CREATE TABLE "scheduler"."contacts" (
	"customer_id" text PRIMARY KEY NOT NULL,
	"email" text,
	"first_name" text,
	"name" text,
	"locale" text,
	"time_zone" text,
	"as_of" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scheduler"."jobs" (
	"dedupe_key" text PRIMARY KEY NOT NULL,
	"campaign_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"trigger_event_id" text NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"skip_reason" text,
	"trigger_data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"fired_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "scheduler"."processed_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "jobs_pending_due_idx" ON "scheduler"."jobs" USING btree ("due_at") WHERE status = 'pending';