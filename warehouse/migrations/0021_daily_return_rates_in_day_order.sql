-- daily_return_rates rewritten in (shop, day) order, once. DuckDB keeps a table's rows in
-- insertion order, in row groups of ~122k rows, each with the range of days it holds.
-- A backfill inserted whole clusters of days in a GROUP BY's order, so every row group of
-- a year-long table held every day of the year, and the nightly statements, which read a
-- few weeks, read the whole table's day column (on the year bench warehouse: 15% of the
-- night's detection, 0.31 -> 0.26 s). `rates.recompute_rates` now inserts in day order;
-- this puts the rows already there in it. Rows and values are unchanged.
CREATE TEMP TABLE _rw_rates_in_day_order AS
SELECT * FROM daily_return_rates ORDER BY shop_id, day, dimension, key;

DELETE FROM daily_return_rates;

INSERT INTO daily_return_rates SELECT * FROM _rw_rates_in_day_order;

DROP TABLE _rw_rates_in_day_order;
