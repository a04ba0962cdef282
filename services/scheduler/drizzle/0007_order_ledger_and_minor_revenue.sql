ALTER TABLE "scheduling"."contacts" ADD COLUMN "order_ledger" jsonb;--> statement-breakpoint
ALTER TABLE "scheduling"."conversions" ADD COLUMN "revenue_minor" bigint;