"""The count of identical rows without an order column (issue 19: compared on the parsed
customer, date and amount first, then on the raw columns) equals pandas' DataFrame.duplicated
over the raw rows, on generated frames whose raw values differ but parse equal."""
from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_addin.core.errors import RfmError
from rfm_addin.sources.route import compute_rfm

CUSTOMERS = st.sampled_from(["A1", " A1", "A1 ", "B2", "12", "12.0", None])
DATES = st.sampled_from(["2024-01-05", "2024-01-05 00:00", "2024-01-06", "2024-02-01"])
AMOUNTS = st.sampled_from(["12.5", "12.50", "7", "7.0", "-3", "100"])
NOTES = st.sampled_from(["x", "y", None])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(CUSTOMERS, DATES, AMOUNTS, NOTES), min_size=1, max_size=40))
def test_identical_rows_equal_pandas_duplicated(rows):
    frame = pd.DataFrame(rows, columns=["Customer", "Date", "Amount", "Note"])
    if frame["Customer"].isna().all():
        return
    try:
        got = compute_rfm(frame).quality.counts.get("possible_duplicates", 0)
    except RfmError:          # only returns: no customer to count
        return
    kept = frame.loc[frame["Customer"].notna()]
    assert got == int(kept.duplicated(keep="first").sum())
