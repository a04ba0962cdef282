CREATE TABLE "scheduler"."catalog_reorder_gaps" (
	"product_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"ordered_at" timestamp with time zone NOT NULL,
	"gap_days" double precision NOT NULL,
	CONSTRAINT "catalog_reorder_gaps_product_id_customer_id_ordered_at_pk" PRIMARY KEY("product_id","customer_id","ordered_at")
);
--> statement-breakpoint
ALTER TABLE "scheduler"."catalog_products" ADD COLUMN "sales_weight" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "catalog_products_category_sales_idx" ON "scheduler"."catalog_products" USING btree ("category","sales_weight");--> statement-breakpoint
-- Catalogs filled before this migration: their gaps from the order lines, and their sales weighted with the default half-life (90 days; epoch 2020-01-01, as WEIGHT_EPOCH).
INSERT INTO "scheduler"."catalog_reorder_gaps" ("product_id", "customer_id", "ordered_at", "gap_days")
SELECT product_id, customer_id, ordered_at, gap FROM (
  SELECT product_id, customer_id, ordered_at, extract(epoch FROM ordered_at - lag(ordered_at) OVER (PARTITION BY product_id, customer_id ORDER BY ordered_at)) / 86400 AS gap
  FROM (SELECT DISTINCT product_id, customer_id, ordered_at FROM "scheduler"."catalog_order_lines") d
) g WHERE gap IS NOT NULL;--> statement-breakpoint
UPDATE "scheduler"."catalog_products" p SET "sales_weight" = s.w
FROM (SELECT product_id, sum(exp(extract(epoch FROM ordered_at - '2020-01-01T00:00:00Z'::timestamptz) / (90 * 86400 / ln(2)))) AS w FROM "scheduler"."catalog_order_lines" GROUP BY product_id) s
WHERE p.product_id = s.product_id;
