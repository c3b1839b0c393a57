-- Products, SKUs and categories as slices (issue 17; docs/detection.md, "Slices").
--
-- sku_id stays the finest item id a source gives (抖店 API sku_id, the export's 商家编码, a
-- canonical CSV's sku_id); product_id is the product it belongs to (抖店 商品ID, the
-- canonical CSV's optional product_id column). NULL product_id: the product is the SKU.
-- category comes from the canonical orders' optional category column; where it is NULL
-- the rates apply the `[[categories]]` mapping of the settings, else 'unknown'.
ALTER TABLE order_lines ADD COLUMN product_id VARCHAR;
ALTER TABLE order_lines ADD COLUMN category VARCHAR;
ALTER TABLE refund_records ADD COLUMN product_id VARCHAR;
