CREATE TABLE "scheduler"."catalog_co_purchases" (
	"product_id" text NOT NULL,
	"other_id" text NOT NULL,
	"weight" double precision NOT NULL,
	"support" integer NOT NULL,
	CONSTRAINT "catalog_co_purchases_product_id_other_id_pk" PRIMARY KEY("product_id","other_id")
);
--> statement-breakpoint
CREATE TABLE "scheduler"."catalog_interests" (
	"customer_id" text NOT NULL,
	"product_id" text NOT NULL,
	"kind" text NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	CONSTRAINT "catalog_interests_customer_id_product_id_kind_pk" PRIMARY KEY("customer_id","product_id","kind")
);
--> statement-breakpoint
CREATE TABLE "scheduler"."catalog_order_lines" (
	"order_id" text NOT NULL,
	"product_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"ordered_at" timestamp with time zone NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "catalog_order_lines_order_id_product_id_pk" PRIMARY KEY("order_id","product_id")
);
--> statement-breakpoint
CREATE TABLE "scheduler"."catalog_prices" (
	"product_id" text NOT NULL,
	"currency" text NOT NULL,
	"amount_minor" bigint NOT NULL,
	CONSTRAINT "catalog_prices_product_id_currency_pk" PRIMARY KEY("product_id","currency")
);
--> statement-breakpoint
CREATE TABLE "scheduler"."catalog_products" (
	"product_id" text PRIMARY KEY NOT NULL,
	"sku" text,
	"name" text,
	"category" text,
	"url" text,
	"image_url" text,
	"stock" integer,
	"in_stock" boolean,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "catalog_interests_product_idx" ON "scheduler"."catalog_interests" USING btree ("product_id","last_at");--> statement-breakpoint
CREATE INDEX "catalog_order_lines_customer_idx" ON "scheduler"."catalog_order_lines" USING btree ("customer_id","product_id","ordered_at");--> statement-breakpoint
CREATE INDEX "catalog_order_lines_product_idx" ON "scheduler"."catalog_order_lines" USING btree ("product_id","ordered_at");