-- returns_line_fallback: for staged returns (_rw_returns) without a province of their own
-- whose order line was not among the recent lines scoped_returns.sql looked at, the line
-- wherever it was paid. Reads every order line of the shop: `rates.resolve_returns` runs
-- it only when some return needs it.
--
-- Parameters: $shop_id.

update _rw_returns as staged
set line_province = line.province, line_found = true
from order_lines as line
where
    line.shop_id = $shop_id
    and line.line_id = staged.line_id
    and staged.own_province is null
    and not staged.line_found
