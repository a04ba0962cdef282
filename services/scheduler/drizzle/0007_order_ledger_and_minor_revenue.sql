ALTER TABLE "scheduler"."contacts" ADD COLUMN "order_ledger" jsonb;--> statement-breakpoint
ALTER TABLE "scheduler"."conversions" ADD COLUMN "revenue_minor" bigint;