CREATE TABLE "scheduler"."conversions" (
	"campaign_id" text NOT NULL,
	"goal_event_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"dedupe_key" text NOT NULL,
	"variant" text,
	"revenue" double precision,
	"currency" text,
	"converted_at" timestamp with time zone NOT NULL,
	CONSTRAINT "conversions_campaign_id_goal_event_id_pk" PRIMARY KEY("campaign_id","goal_event_id")
);
--> statement-breakpoint
CREATE TABLE "scheduler"."customer_events" (
	"customer_id" text NOT NULL,
	"event" text NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	CONSTRAINT "customer_events_customer_id_event_pk" PRIMARY KEY("customer_id","event")
);
--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "stage" text;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "unsubscribed" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "subscription_as_of" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "birthday" text;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "first_order_date" text;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "signup_date" text;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "lifetime_spend" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "currency" text;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "last_order" jsonb;--> statement-breakpoint
ALTER TABLE "scheduler"."jobs" ADD COLUMN "trigger_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduler"."jobs" ADD COLUMN "trigger_props" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduler"."jobs" ADD COLUMN "category" text DEFAULT 'transactional' NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduler"."jobs" ADD COLUMN "variant" text;--> statement-breakpoint
ALTER TABLE "scheduler"."jobs" ADD COLUMN "skip_detail" text;--> statement-breakpoint
ALTER TABLE "scheduler"."jobs" ADD COLUMN "deferrals" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_customer_pending_idx" ON "scheduler"."jobs" USING btree ("customer_id") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "jobs_customer_campaign_idx" ON "scheduler"."jobs" USING btree ("customer_id","campaign_id","trigger_at");--> statement-breakpoint
CREATE INDEX "jobs_marketing_sent_idx" ON "scheduler"."jobs" USING btree ("customer_id","fired_at") WHERE status = 'sent' AND category = 'marketing';--> statement-breakpoint
UPDATE "scheduler"."jobs" SET "trigger_at" = "created_at";