"""The synthetic shop: deterministic, internally consistent, spikes that really show, and
export files shaped like the real 抖店 ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from returnwatch.demo.exports import write_canonical_csv, write_doudian_exports
from returnwatch.demo.reference import (
    CANONICAL_ORDER_COLUMNS,
    CANONICAL_REFUND_COLUMNS,
    CARRIERS,
    DOUDIAN_ID_COLUMNS,
    DOUDIAN_ORDER_COLUMNS,
    DOUDIAN_PII_COLUMNS,
    DOUDIAN_REFUND_COLUMNS,
    MIN_BASELINE_DAYS,
    PROVINCES,
    REFUND_REASONS,
)
from returnwatch.demo.shop import SpikeSpec, SyntheticShop, generate_shop

SMALL = dict(seed=11, days=70, n_skus=40, lines_per_day=400)
START = dt.date(2026, 7, 1)
PII_FIELDS = ("buyer_name", "buyer_phone", "address", "street")


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return generate_shop(**SMALL)


@pytest.fixture(scope="module")
def tiny() -> SyntheticShop:
    """Small enough for XLSX (openpyxl writes ~1 row per ms) and byte comparisons."""
    return generate_shop(seed=5, days=40, n_skus=10, lines_per_day=12, n_random_spikes=1)


@pytest.fixture(scope="module")
def filed() -> SyntheticShop:
    """Two calendar months of a small shop, for the file tests."""
    return generate_shop(seed=3, days=62, n_skus=20, lines_per_day=60, n_random_spikes=2)


@pytest.fixture(scope="module")
def monthly_exports(filed, tmp_path_factory) -> list[Path]:
    return write_doudian_exports(filed, tmp_path_factory.mktemp("monthly"))


@pytest.fixture(scope="module")
def whole_exports(filed, tmp_path_factory) -> list[Path]:
    return write_doudian_exports(filed, tmp_path_factory.mktemp("whole"), by="all", tab_ids=False)


@pytest.fixture(scope="module")
def base() -> SyntheticShop:
    """SMALL without spikes: its requests are exactly the natural ones of every SMALL shop."""
    return generate_shop(**SMALL, spikes=[])


def top_sku(shop: SyntheticShop) -> str:
    return shop.order_lines["sku_id"].value_counts().index[0]


@pytest.fixture(scope="module")
def chosen_specs(base) -> list[SpikeSpec]:
    return [
        SpikeSpec(START + dt.timedelta(days=45), "sku", top_sku(base), 3.0),
        SpikeSpec(START + dt.timedelta(days=50), "region", "广东省", 4.0),
        SpikeSpec(START + dt.timedelta(days=60), "shop", "*", 2.5),
    ]


@pytest.fixture(scope="module")
def spiked(chosen_specs) -> SyntheticShop:
    return generate_shop(**SMALL, spikes=chosen_specs)


def extra_refunds(shop: SyntheticShop, base: SyntheticShop) -> pd.DataFrame:
    """Refunds of `shop` that its spike-free twin lacks: the injected ones."""
    key = ["line_id", "requested_at"]
    merged = shop.refunds.merge(base.refunds[key], on=key, how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"]


def in_slice(frame: pd.DataFrame, dimension: str, key: str) -> pd.Series:
    if dimension == "shop":
        return pd.Series(True, index=frame.index)
    return frame["province" if dimension == "region" else "sku_id"] == key


def with_lines(shop: SyntheticShop) -> pd.DataFrame:
    lines = shop.order_lines[["line_id", "order_id", "sku_id", "paid_at", "amount", "quantity"]]
    return shop.refunds.merge(lines, on="line_id", suffixes=("", "_line"), validate="one_to_one")


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_spikes(shop):
    again = generate_shop(**SMALL)

    pd.testing.assert_frame_equal(shop.order_lines, again.order_lines)
    pd.testing.assert_frame_equal(shop.refunds, again.refunds)
    assert shop.spikes == again.spikes
    assert shop.promo_days == again.promo_days


def test_another_seed_gives_another_shop(shop):
    other = generate_shop(**{**SMALL, "seed": 12})

    assert not shop.order_lines["line_id"].equals(other.order_lines["line_id"])
    assert len(shop.refunds) != len(other.refunds) or not shop.refunds["refund_id"].equals(
        other.refunds["refund_id"]
    )
    assert shop.spikes != other.spikes


@pytest.mark.slow  # export files, XLSX
def test_same_seed_gives_byte_identical_files(tmp_path, tiny):
    for run in ("a", "b"):
        write_doudian_exports(tiny, tmp_path / run / "csv")
        write_doudian_exports(tiny, tmp_path / run / "xlsx", fmt="xlsx", by="all")
        write_canonical_csv(tiny, tmp_path / run / "canonical")

    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) == 2 * 2 + 2 + 2  # two months of each kind, one XLSX of each, canonical
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


# --- realism and consistency ---------------------------------------------------------------


def test_ids_look_like_the_platform_and_never_collide(shop):
    ol, rf = shop.order_lines, shop.refunds
    for ids in (ol["order_id"], ol["line_id"], ol["sku_id"], rf["refund_id"]):
        assert ids.str.fullmatch(r"[1-9]\d{18}").all()
    assert ol["line_id"].is_unique and rf["refund_id"].is_unique and rf["line_id"].is_unique
    assert not set(ol["order_id"]) & set(ol["line_id"])
    assert ol["order_id"].str.startswith("69").all()
    sizes = ol.groupby("order_id").size()
    assert sizes.between(1, 3).all() and (sizes == 1).mean() > 0.7
    assert not ol.duplicated(["order_id", "sku_id"]).any()  # one line per SKU and order


def test_catalogue_regions_and_carriers_are_skewed_like_a_real_shop(shop):
    ol = shop.order_lines
    share = ol["sku_id"].value_counts(normalize=True)
    assert share.iloc[:5].sum() > 0.4  # a few hits
    assert share.iloc[-1] < 0.01  # and a long tail
    assert set(ol["province"]) <= {p[0] for p in PROVINCES}
    regions = ol["province"].value_counts(normalize=True)
    assert regions.index[0] == "广东省" and regions.get("西藏自治区", 0) < 0.01
    assert set(ol["carrier"].dropna()) <= {c[0] for c in CARRIERS}
    assert (ol["amount"] <= ol["unit_price"] * ol["quantity"] + 1e-9).all()


def test_volume_follows_the_week(shop):
    per_day = shop.order_lines.groupby(shop.order_lines["paid_at"].dt.normalize()).size()
    promo = per_day.index.date
    per_day = per_day[[d not in shop.promo_days for d in promo]]
    by_weekday = per_day.groupby(per_day.index.day_of_week).mean()
    assert by_weekday[[5, 6]].mean() > 1.15 * by_weekday[[1, 2, 3]].mean()
    assert by_weekday[0] < by_weekday[[1, 2, 3]].mean()


def test_each_buyer_keeps_one_phone(shop):
    pairs = shop.order_lines[["customer_id", "buyer_phone"]].drop_duplicates()
    assert pairs["customer_id"].is_unique and pairs["buyer_phone"].is_unique
    assert pairs["buyer_phone"].str.fullmatch(r"1\d{10}").all()
    assert shop.order_lines["customer_id"].duplicated().any()  # some buyers come back


def test_every_refund_points_at_an_existing_line_and_never_over_refunds(shop):
    rf = with_lines(shop)

    assert len(rf) == len(shop.refunds)
    assert (rf["order_id"] == rf["order_id_line"]).all()
    assert (rf["sku_id"] == rf["sku_id_line"]).all()
    assert (rf["refund_amount"] <= rf["amount"] + 1e-9).all()
    assert (rf["quantity"] <= rf["quantity_line"]).all()


def test_returns_lag_zero_to_seven_days_and_never_precede_payment(shop):
    rf = with_lines(shop)
    lag_days = (rf["requested_at"].dt.normalize() - rf["paid_at"].dt.normalize()).dt.days

    assert (rf["requested_at"] > rf["paid_at"]).all()
    assert lag_days.between(0, 7).all()
    assert lag_days.between(1, 4).mean() > 0.6  # skewed: most come after 1–4 days
    assert (rf["requested_at"] < pd.Timestamp(shop.end)).all()  # exports stop at the end


def test_only_unshipped_lines_get_unshipped_refunds(shop):
    rf = shop.refunds.merge(shop.order_lines[["line_id", "shipped_at", "carrier"]], on="line_id")
    unshipped = rf["refund_type_raw"] == "未发货仅退款"

    assert rf.loc[unshipped, "shipped_at"].isna().all()
    assert rf.loc[unshipped, "carrier_y"].isna().all()
    assert (rf.loc[~unshipped, "shipped_at"] < rf.loc[~unshipped, "requested_at"]).all()
    assert (rf.loc[~unshipped, "carrier_x"] == rf.loc[~unshipped, "carrier_y"]).all()


def test_refund_value_sets_and_mix(shop):
    rf = shop.refunds
    mix = rf["refund_type"].value_counts(normalize=True)

    assert set(mix.index) <= {"return_refund", "refund_only", "exchange", "other"}
    assert 0.5 < mix["return_refund"] < 0.7 and 0.2 < mix["refund_only"] < 0.4
    assert set(rf["refund_type_raw"]) == {
        "退货退款",
        "已发货仅退款",
        "未发货仅退款",
        "换货",
        "补寄",
    }
    assert set(rf["reason"]) <= set(REFUND_REASONS)
    assert rf["reason_detail"].notna().mean() > 0.2
    assert set(rf["arbitration_status"].dropna()) <= {"仲裁中", "仲裁完成"}
    assert 0.005 < rf["arbitration_status"].notna().mean() < 0.05
    assert 0.05 < len(rf) / len(shop.order_lines) < 0.25


def test_statuses_and_times_follow_the_refunds_age(shop):
    rf = shop.refunds
    end = pd.Timestamp(shop.end)
    old = rf["requested_at"] < end - pd.Timedelta(days=14)
    recent = rf["requested_at"] >= end - pd.Timedelta(days=7)

    assert set(rf["status"]) <= {
        "requested", "in_progress", "completed", "rejected", "cancelled", "closed"
    }  # fmt: skip
    assert not rf.loc[old, "status"].isin(["requested", "in_progress"]).any()
    assert rf.loc[recent, "status"].isin(["requested", "in_progress"]).mean() > 0.2
    approved, completed = rf["approved_at"].dropna(), rf["completed_at"].dropna()
    assert (approved >= rf.loc[approved.index, "requested_at"]).all()
    assert (completed >= rf.loc[completed.index, "requested_at"]).all()
    assert (approved <= end).all() and (completed <= end).all()
    delay = (approved - rf.loc[approved.index, "requested_at"]).dt.total_seconds() / 3600
    assert 1 < delay.median() < 4 and delay.max() <= 48
    returned = rf[(rf["refund_type"] == "return_refund") & (rf["status"] == "completed")]
    took = (returned["completed_at"] - returned["requested_at"]).dt.total_seconds() / 86400
    assert took.between(1, 10).all()


# --- spikes ----------------------------------------------------------------------------------


def test_chosen_spikes_are_injected_as_asked(spiked, base, chosen_specs):
    extra = extra_refunds(spiked, base)

    assert [(s.day, s.dimension, s.key) for s in spiked.spikes] == [
        (s.day, s.dimension, s.key) for s in chosen_specs
    ]
    assert len(extra) == sum(s.extra_returns for s in spiked.spikes)
    causes = []
    for spike in spiked.spikes:
        mine = extra[extra["requested_at"].dt.date == spike.day]
        assert len(mine) == spike.extra_returns
        assert in_slice(mine, spike.dimension, spike.key).all()
        assert spike.extra_returns == max(3, round((spike.multiplier - 1) * spike.expected_returns))
        causes.append(mine["reason"] == spike.reason)
    assert pd.concat(causes).mean() > 0.7  # extra refunds share their spike's cause


def test_spikes_stand_out_of_their_slice(spiked):
    daily = spiked.refunds.assign(day=spiked.refunds["requested_at"].dt.date)
    for spike in spiked.spikes:
        counts = daily[in_slice(daily, spike.dimension, spike.key)].groupby("day").size()
        others = counts.drop(spike.day).iloc[7:]  # skip the first week's ramp-up
        assert counts[spike.day] > others.mean() + 2.5 * others.std(), spike
        assert counts[spike.day] > 2 * others.mean(), spike


def test_region_spikes_come_with_a_carrier(spiked, base):
    spike = next(s for s in spiked.spikes if s.dimension == "region")
    extra = extra_refunds(spiked, base)
    mine = extra[extra["requested_at"].dt.date == spike.day]

    assert spike.carrier in {c[0] for c in CARRIERS}
    assert (mine["carrier"] == spike.carrier).mean() > 0.5


def test_spike_lines_were_paid_in_the_week_before(spiked, base):
    extra = extra_refunds(spiked, base).merge(
        spiked.order_lines[["line_id", "paid_at", "shipped_at"]], on="line_id"
    )
    lag = (extra["requested_at"].dt.normalize() - extra["paid_at"].dt.normalize()).dt.days

    assert lag.between(0, 7).all()
    assert (extra["shipped_at"] < extra["requested_at"]).all()


def test_random_spikes_mix_dimensions_after_the_baseline(base):
    shop = generate_shop(**SMALL)  # n_random_spikes=6
    extra = extra_refunds(shop, base)

    assert len(shop.spikes) == 6
    assert {s.dimension for s in shop.spikes} == {"sku", "region", "shop"}
    for spike in shop.spikes:
        assert spike.day >= shop.start + dt.timedelta(days=MIN_BASELINE_DAYS)
        assert 1.8 <= spike.multiplier <= 4.0
        assert spike.extra_returns >= 3
        assert spike.expected_returns >= 1.0  # picked slices are big enough to show
    assert len(extra) == sum(s.extra_returns for s in shop.spikes)


def test_bad_spike_specs_are_refused():
    for spec in (
        SpikeSpec(START, "brand", "*", 2.0),
        SpikeSpec(START - dt.timedelta(days=1), "shop", "*", 2.0),
        SpikeSpec(START, "region", "广东", 2.0),
        SpikeSpec(START, "sku", "123", 2.0),
        SpikeSpec(START, "shop", "*", 1.0),
    ):
        with pytest.raises(ValueError):
            generate_shop(days=10, lines_per_day=20, spikes=[spec])


# --- files -----------------------------------------------------------------------------------


def read_csv(path: Path, encoding: str = "utf-8-sig") -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)


@pytest.mark.slow  # export files
def test_doudian_csv_has_every_header_a_bom_and_tabbed_ids(filed, monthly_exports):
    shop, paths = filed, monthly_exports
    orders = [p for p in paths if p.name.startswith("订单导出_")]
    refunds = [p for p in paths if p.name.startswith("售后导出_")]

    assert [p.name for p in orders] == ["订单导出_2026-07.csv", "订单导出_2026-08.csv"]
    assert [p.name for p in refunds] == ["售后导出_2026-07.csv", "售后导出_2026-08.csv"]
    for kind, header, files in (
        ("orders", DOUDIAN_ORDER_COLUMNS, orders),
        ("refunds", DOUDIAN_REFUND_COLUMNS, refunds),
    ):
        total = 0
        for path in files:
            assert path.read_bytes().startswith(b"\xef\xbb\xbf")
            frame = read_csv(path)
            assert tuple(frame.columns) == header
            for column in set(DOUDIAN_ID_COLUMNS) & set(header):
                assert frame[column].str.fullmatch(r"\t\d{19}").all(), (kind, column)
            month = path.stem.split("_")[1]
            time_column = "支付完成时间" if kind == "orders" else "售后申请时间"
            assert frame[time_column].str.startswith(month).all()
            assert frame[time_column].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
            total += len(frame)
        assert total == len(shop.order_lines if kind == "orders" else shop.refunds)
    assert len(DOUDIAN_ORDER_COLUMNS) == 73 and len(DOUDIAN_REFUND_COLUMNS) == 50


@pytest.mark.slow  # export files
def test_doudian_values_carry_the_shop(filed, whole_exports):
    shop, (orders_path, refunds_path) = filed, whole_exports
    orders, refunds = read_csv(orders_path), read_csv(refunds_path)
    lines = shop.order_lines.set_index("line_id")
    rf = shop.refunds.set_index("refund_id")

    assert orders_path.name == "订单导出_2026-07-01_2026-08-31.csv"
    assert orders["子订单编号"].str.fullmatch(r"\d{19}").all()  # no tabs when asked
    row = orders.iloc[len(orders) // 2]
    line = lines.loc[row["子订单编号"]]
    assert (row["省"], row["市"], row["收件人手机号"]) == (
        line["province"], line["city"], line["buyer_phone"]
    )  # fmt: skip
    assert float(row["商品金额"]) == line["unit_price"]
    assert float(row["订单应付金额"]) == line["amount"]
    shipped = orders["快递信息"] != ""
    carriers = orders.loc[shipped, "快递信息"].str.extract(r"^[A-Z0-9]+-([^,]+),")[0]
    assert carriers.isin([c[0] for c in CARRIERS]).all()
    assert set(refunds["售后类型"]) == {"退货退款", "已发货仅退款", "未发货仅退款", "换货", "补寄"}
    assert set(refunds["售后状态"]) <= {
        "待商家同意", "待买家退货", "待商家收货", "待商家发货", "同意退款，退款成功", "换货成功",
        "售后成功", "售后关闭",
    }  # fmt: skip
    one = refunds.iloc[len(refunds) // 2]
    refund = rf.loc[one["售后单号"]]
    assert float(one["退商品金额（元）"]) == refund["refund_amount"]
    assert one["售后原因"] == refund["reason"]
    assert one["商品单号"] == refund["line_id"]


@pytest.mark.slow  # export files
def test_gb18030_csv_decodes_only_as_gb18030(tmp_path, filed):
    paths = write_doudian_exports(filed, tmp_path, encoding="gb18030", by="all")

    for path, header in zip(paths, (DOUDIAN_ORDER_COLUMNS, DOUDIAN_REFUND_COLUMNS), strict=True):
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert tuple(read_csv(path, "gb18030").columns) == header


@pytest.mark.slow  # export files, XLSX
def test_xlsx_opens_with_calamine_and_matches_the_csv(tmp_path, tiny):
    csv_paths = write_doudian_exports(tiny, tmp_path / "csv", by="all")
    xlsx_paths = write_doudian_exports(tiny, tmp_path / "xlsx", fmt="xlsx", by="all")

    assert [p.suffix for p in xlsx_paths] == [".xlsx", ".xlsx"]
    for csv_path, xlsx_path in zip(csv_paths, xlsx_paths, strict=True):
        rows = CalamineWorkbook.from_path(str(xlsx_path)).get_sheet_by_index(0).to_python()
        expected = read_csv(csv_path)
        assert tuple(rows[0]) == tuple(expected.columns)
        assert len(rows) - 1 == len(expected)
        first_id = expected.columns[0]
        assert [r[0] for r in rows[1:]] == expected[first_id].tolist()  # ids stay text


@pytest.mark.slow  # export files
def test_canonical_csv_has_exact_headers_and_missing_provinces(tmp_path, shop):
    orders_path, refunds_path = write_canonical_csv(shop, tmp_path)

    assert (orders_path.name, refunds_path.name) == ("orders.csv", "refunds.csv")
    for path, header in (
        (orders_path, CANONICAL_ORDER_COLUMNS),
        (refunds_path, CANONICAL_REFUND_COLUMNS),
    ):
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert raw.decode("utf-8").split("\n", 1)[0] == ",".join(header)
    orders, refunds = read_csv(orders_path, "utf-8"), read_csv(refunds_path, "utf-8")
    assert len(orders) == len(shop.order_lines) and len(refunds) == len(shop.refunds)
    assert 0.25 < (refunds["province"] == "").mean() < 0.35
    assert refunds["requested_at"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert orders["customer_id"].str.fullmatch(r"u\d+").all()


@pytest.mark.slow  # export files
def test_buyer_pii_only_in_the_doudian_order_export(tmp_path, filed, whole_exports):
    canonical = write_canonical_csv(filed, tmp_path / "canonical")
    orders_path, refunds_path = whole_exports
    sample = filed.order_lines.drop_duplicates("customer_id").sample(100, random_state=1)

    assert set(DOUDIAN_PII_COLUMNS) <= set(DOUDIAN_ORDER_COLUMNS)
    assert not set(DOUDIAN_PII_COLUMNS) & set(DOUDIAN_REFUND_COLUMNS)
    assert not set(PII_FIELDS) & (set(CANONICAL_ORDER_COLUMNS) | set(CANONICAL_REFUND_COLUMNS))
    order_text = orders_path.read_text(encoding="utf-8-sig")
    assert all(phone in order_text for phone in sample["buyer_phone"])
    for path in (*canonical, refunds_path):
        text = path.read_text(encoding="utf-8-sig")
        for field in PII_FIELDS:
            assert not any(value in text for value in sample[field]), (path.name, field)
