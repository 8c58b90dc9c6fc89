"""Shared checks for the engine-source tests: the engine result equals the DataFrame path's."""
from __future__ import annotations

import numpy as np
import pandas as pd


def assert_same_result(expected, got) -> None:
    """Same customers, recency and frequency exactly, monetary to the cent, same quality counts."""
    a, b = expected.table, got.table
    assert list(a.index) == list(b.index)
    assert a.index.name == b.index.name
    assert list(a.columns) == list(b.columns)
    assert (a["recency"].to_numpy() == b["recency"].to_numpy()).all()
    assert (a["frequency"].to_numpy() == b["frequency"].to_numpy()).all()
    np.testing.assert_array_equal(np.round(a["monetary"].to_numpy(), 2), np.round(b["monetary"].to_numpy(), 2))
    # Sums added in another order differ in the last bits: near zero, -4e-17 against 0.0.
    np.testing.assert_allclose(a["avg_order_value"].to_numpy(), b["avg_order_value"].to_numpy(), rtol=1e-9,
                               atol=1e-9)
    for column in ("first_purchase", "last_purchase"):
        assert (pd.to_datetime(a[column]).to_numpy() == pd.to_datetime(b[column]).to_numpy()).all(), column
    assert expected.as_of == got.as_of
    assert expected.frequency_basis == got.frequency_basis
    ca, cb = expected.quality.counts, got.quality.counts
    assert ca.keys() == cb.keys()
    for key in ca:
        assert round(float(ca[key]), 2) == round(float(cb[key]), 2), (key, ca[key], cb[key])
    qa, qb = expected.quality.to_frame(), got.quality.to_frame()
    assert qa["check"].tolist() == qb["check"].tolist()
    assert qa["count"].tolist() == qb["count"].tolist()


def padded_ids() -> pd.DataFrame:
    """Ids padded with whitespace that Python's str.strip() removes (and so the DataFrame
    path): no-break and ideographic spaces, a tab, NEL; and "7.0" spelled with padding."""
    rows = [
        ("\u00a0501", "\u00a042\u00a0", "2024-01-03", 10.0),
        ("501", "42", "2024-01-03", 10.0),                     # the same line: a duplicate
        ("502\u3000", "\t42", "2024-01-05", 4.0),
        ("\u2003C503", "42\u202f", "2024-01-06", 3.0),         # a cancellation
        ("504", "\x857.0\u2029", "2024-01-07", 8.0),            # customer "7"
        ("505", "7", "2024-01-08", 1.5),
        ("\u00a0", "8", "2024-01-09", 2.0),                    # no order id
        ("506", "\u00a0\u00a0", "2024-01-09", 2.0),             # no customer
    ]
    frame = pd.DataFrame(rows, columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Amount"])
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    return frame
