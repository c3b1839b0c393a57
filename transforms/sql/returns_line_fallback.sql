-- returns_line_fallback: for staged returns (_rw_returns) whose order line was not among
-- the recent lines scoped_returns.sql looked at, the line wherever it was paid (its
-- province, and what the SKU, product, category, carrier and buyer slices read). Reads every order line of the shop: `rates.resolve_returns` runs
-- it only when some return needs it.
--
-- Parameters: $shop_id.

update _rw_returns as staged
set
    line_province = line.province,
    line_found = true,
    line_sku_id = line.sku_id,
    line_product_id = line.product_id,
    line_category = line.category,
    line_carrier = line.carrier,
    line_product_name = line.product_name,
    line_customer_id = line.customer_id
from order_lines as line
where
    line.shop_id = $shop_id
    and line.line_id = staged.line_id
    and not staged.line_found
