-- A variant's stock version counts its stock changes (adjust_stock), so
-- that consumers of product.stock_changed can ignore a redelivered or
-- late event: the product's version counts content writes only.
ALTER TABLE variants ADD COLUMN stock_version INTEGER NOT NULL DEFAULT 0;
