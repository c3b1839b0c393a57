-- The quality-return rate and the damaged-in-transit share beside every slice's rate
-- (issue 17; docs/detection.md, "Reasons"). Both count the same returns as `returns`,
-- classified by their 售后原因 (transforms/rates.py, QUALITY_REASONS / DAMAGE_REASONS).
-- Rows computed before this migration have NULL until their days are recomputed
-- (`returnwatch detect --start --end`).
ALTER TABLE daily_return_rates ADD COLUMN quality_returns BIGINT;
ALTER TABLE daily_return_rates ADD COLUMN damaged_returns BIGINT;
