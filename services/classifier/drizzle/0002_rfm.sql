CREATE TABLE "classifier"."recurring" (
	"name" text PRIMARY KEY NOT NULL,
	"next_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "classifier"."profiles" ADD COLUMN "rfm_recency" integer;--> statement-breakpoint
ALTER TABLE "classifier"."profiles" ADD COLUMN "rfm_frequency" integer;--> statement-breakpoint
ALTER TABLE "classifier"."profiles" ADD COLUMN "rfm_monetary" integer;--> statement-breakpoint
ALTER TABLE "classifier"."profiles" ADD COLUMN "rfm_segment" text;--> statement-breakpoint
ALTER TABLE "classifier"."profiles" ADD COLUMN "rfm_at" timestamp with time zone;