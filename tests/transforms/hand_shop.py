"""A hand-made shop where every number is worked out by hand (tests/transforms).

Window 3 days, 2 days of history needed. Six days:

    D1 07-01  orders l1 A/P, l2 A/P, l3 B/Q, l4 B/(no province, own order)
    D2 07-02  orders l5 A/P, l6 B/Q;            refund r1 of l1 (own province P, 23:59:59)
    D3 07-03  no orders;                         r2 of l3 (no province -> line's Q),
                                                 r3 of l4 (no province anywhere -> unknown),
                                                 r4 exchange of l5 (not a return)
    D4 07-04  orders l7 A/P, l8 A/P, l9 A/Q, l10 B/Q;
                                                 r5 refund_only of l6, rejected (-> Q),
                                                 r6 of an unknown line, SKU C (-> unknown)
    D5 07-05  order l11 B/Q                      (SKU A: a gap, no row)
    D6 07-06  order l12 A/P;                     r8 of l9 with its own province P
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

SHOP = "hand"
D = {i: date(2026, 7, i) for i in range(1, 8)}

ORDERS = [
    # line, order, sku, province, paid_at
    ("l1", "o1", "A", "P", "2026-07-01 00:00:00"),
    ("l2", "o1", "A", "P", "2026-07-01 09:00:00"),
    ("l3", "o2", "B", "Q", "2026-07-01 12:00:00"),
    ("l4", "o4", "B", None, "2026-07-01 23:59:59"),
    ("l5", "o5", "A", "P", "2026-07-02 08:00:00"),
    ("l6", "o6", "B", "Q", "2026-07-02 10:00:00"),
    ("l7", "o7", "A", "P", "2026-07-04 10:00:00"),
    ("l8", "o7", "A", "P", "2026-07-04 10:00:00"),
    ("l9", "o9", "A", "Q", "2026-07-04 11:00:00"),
    ("l10", "o10", "B", "Q", "2026-07-04 12:00:00"),
    ("l11", "o11", "B", "Q", "2026-07-05 12:00:00"),
    ("l12", "o12", "A", "P", "2026-07-06 12:00:00"),
]
REFUNDS = [
    # refund, order, line, sku, type, status, province, requested_at
    ("r1", "o1", "l1", "A", "return_refund", "completed", "P", "2026-07-02 23:59:59"),
    ("r2", "o2", "l3", "B", "return_refund", "requested", None, "2026-07-03 08:00:00"),
    ("r3", "o4", "l4", "B", "return_refund", "completed", None, "2026-07-03 09:00:00"),
    ("r4", "o5", "l5", "A", "exchange", "completed", None, "2026-07-03 10:00:00"),
    ("r5", "o6", "l6", "B", "refund_only", "rejected", None, "2026-07-04 00:00:00"),
    ("r6", "ox", "lx", "C", "return_refund", "completed", None, "2026-07-04 13:00:00"),
    ("r8", "o9", "l9", "A", "return_refund", "in_progress", "P", "2026-07-06 20:00:00"),
]

N = None
# (day, dimension, key): order_lines, returns, return_rate, baseline_rate, baseline_days, lift
EXPECTED = {
    (1, "shop", "*"): (4, 0, 0.0, N, 0, N),
    (2, "shop", "*"): (2, 1, 0.5, 0.0, 1, N),
    (3, "shop", "*"): (0, 2, N, 0.25, 2, N),
    (4, "shop", "*"): (4, 2, 0.5, 0.25, 2, 1.0),
    (5, "shop", "*"): (1, 0, 0.0, 0.5, 2, -1.0),
    (6, "shop", "*"): (1, 1, 1.0, 0.25, 2, 3.0),
    (1, "region", "P"): (2, 0, 0.0, N, 0, N),
    (2, "region", "P"): (1, 1, 1.0, 0.0, 1, N),
    (4, "region", "P"): (2, 0, 0.0, 0.5, 2, -1.0),
    (6, "region", "P"): (1, 1, 1.0, 0.0, 1, N),
    (1, "region", "Q"): (1, 0, 0.0, N, 0, N),
    (2, "region", "Q"): (1, 0, 0.0, 0.0, 1, N),
    (3, "region", "Q"): (0, 1, N, 0.0, 2, N),
    (4, "region", "Q"): (2, 1, 0.5, 0.0, 2, N),
    (5, "region", "Q"): (1, 0, 0.0, 0.25, 2, -1.0),
    (1, "region", "unknown"): (1, 0, 0.0, N, 0, N),
    (3, "region", "unknown"): (0, 1, N, 0.0, 1, N),
    (4, "region", "unknown"): (0, 1, N, 0.0, 1, N),
    (1, "sku", "A"): (2, 0, 0.0, N, 0, N),
    (2, "sku", "A"): (1, 1, 1.0, 0.0, 1, N),
    (4, "sku", "A"): (3, 0, 0.0, 0.5, 2, -1.0),
    (6, "sku", "A"): (1, 1, 1.0, 0.0, 1, N),
    (1, "sku", "B"): (2, 0, 0.0, N, 0, N),
    (2, "sku", "B"): (1, 0, 0.0, 0.0, 1, N),
    (3, "sku", "B"): (0, 2, N, 0.0, 2, N),
    (4, "sku", "B"): (1, 1, 1.0, 0.0, 2, N),
    (5, "sku", "B"): (1, 0, 0.0, 0.5, 2, -1.0),
    (4, "sku", "C"): (0, 1, N, N, 0, N),
}


def orders_frame(rows=ORDERS) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "shop_id": SHOP,
                "order_id": order,
                "line_id": line,
                "sku_id": sku,
                "quantity": 1,
                "amount": 10.0,
                "paid_at": datetime.fromisoformat(paid),
                "province": province,
            }
            for line, order, sku, province, paid in rows
        ]
    )


def refunds_frame(rows=REFUNDS) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "shop_id": SHOP,
                "refund_id": refund,
                "order_id": order,
                "line_id": line,
                "sku_id": sku,
                "refund_type": kind,
                "status": status,
                "province": province,
                "requested_at": datetime.fromisoformat(at),
            }
            for refund, order, line, sku, kind, status, province, at in rows
        ]
    )
