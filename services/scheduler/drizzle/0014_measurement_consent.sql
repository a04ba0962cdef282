ALTER TABLE "scheduler"."contacts" ADD COLUMN "topics_opted_out" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "frequency" text DEFAULT 'any' NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "last_engaged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "re_permission_sent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "scheduler"."contacts" ADD COLUMN "sunset_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "scheduler"."conversions" ADD COLUMN "group" text DEFAULT 'mailed' NOT NULL;