"""The RFM definitions, checked on hand-worked examples, a SQL query and a brute-force loop."""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rfm_addin as rfm
from rfm_addin.sources.route import compute_rfm

# A line-item export, worked by hand below.
LINES = pd.DataFrame(
    [
        ("1", "A", "2024-01-01 09:00", 10.0),
        ("1", "A", "2024-01-01 09:00", 5.0),
        ("1", "A", "2024-01-01 09:00", 5.0),    # exact duplicate of the line above: dropped
        ("2", "A", "2024-01-10 23:59", 20.0),   # last purchase of A (the time of day is ignored)
        ("C3", "A", "2024-01-20", -7.0),        # cancellation: subtracts, is no purchase
        ("4", "B", "2024-01-15", 100.0),
        ("C5", "C", "2024-01-18", -30.0),       # C has cancellations only: left out
        ("6", None, "2024-01-19", 50.0),        # no customer: dropped
        ("7", "D", "2024-01-05", 40.0),
        ("C8", "D", "2024-01-06", -40.0),       # D's net spend is 0: kept, counted
        (None, None, None, None),               # blank row
    ],
    columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Amount"],
)


def test_hand_worked_line_items():
    result = compute_rfm(LINES)
    table = result.table
    # as_of: the day after the latest transaction (C3 on 2024-01-20, a cancellation, is a transaction).
    assert result.as_of == pd.Timestamp("2024-01-21")
    assert list(table.index) == ["A", "B", "D"]
    assert table.index.name == "CustomerID"
    assert table["recency"].tolist() == [11, 6, 16]          # 21 - 10, 21 - 15, 21 - 5
    assert table["frequency"].tolist() == [2, 1, 1]          # A: invoices 1 and 2
    assert table["monetary"].tolist() == [28.0, 100.0, 0.0]  # 10 + 5 + 20 - 7
    assert table["avg_order_value"].tolist() == [14.0, 100.0, 0.0]
    assert table["first_purchase"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-15"),
                                               pd.Timestamp("2024-01-05")]
    assert table["last_purchase"].tolist() == [pd.Timestamp("2024-01-10"), pd.Timestamp("2024-01-15"),
                                              pd.Timestamp("2024-01-05")]
    assert table["recency"].dtype == np.int64 and table["frequency"].dtype == np.int64
    counts = result.quality.counts
    assert counts["rows_read"] == 11
    assert counts["blank_rows"] == 1
    assert (counts["no_customer"], counts["no_customer_amount"]) == (1, 50.0)
    assert (counts["duplicate_rows"], counts["duplicate_rows_amount"]) == (1, 5.0)
    assert (counts["cancellations"], counts["cancellations_amount"]) == (3, -77.0)
    assert (counts["cancel_only_customers"], counts["cancel_only_customers_amount"]) == (1, -30.0)
    assert counts["nonpositive_customers"] == 1
    assert counts["customers"] == 3
    assert result.frequency_basis == "distinct orders (InvoiceNo)"


def test_rfm_table_matches_sqlite_query():
    """The same customer table from an independent SQL formulation of the definitions."""
    clean = LINES.dropna(subset=["CustomerID"]).drop_duplicates()
    con = sqlite3.connect(":memory:")
    clean.to_sql("t", con, index=False)
    sql = """
        SELECT CustomerID,
               julianday('2024-01-21') - julianday(MAX(CASE WHEN is_cancel = 0 THEN date(InvoiceDate) END)) AS recency,
               COUNT(DISTINCT CASE WHEN is_cancel = 0 THEN InvoiceNo END) AS frequency,
               SUM(Amount) AS monetary
        FROM (SELECT *, (InvoiceNo LIKE 'C%' OR Amount < 0) AS is_cancel FROM t)
        GROUP BY CustomerID
        HAVING frequency > 0
        ORDER BY CustomerID
    """
    expected = pd.read_sql(sql, con).set_index("CustomerID")
    table = rfm.rfm_table(LINES)
    assert table["recency"].tolist() == expected["recency"].astype(int).tolist()
    assert table["frequency"].tolist() == expected["frequency"].tolist()
    assert table["monetary"].tolist() == pytest.approx(expected["monetary"].tolist())


def test_without_order_column_identical_rows_are_separate_purchases():
    data = pd.DataFrame({"Customer": ["A", "A", "A", "B"],
                         "Date": ["2024-03-01", "2024-03-01", "2024-03-05", "2024-03-02"],
                         "Sales": [10.0, 10.0, -4.0, 8.0]})
    result = compute_rfm(data)
    assert result.table["frequency"].tolist() == [2, 1]       # the two identical rows, not the return
    assert result.table["monetary"].tolist() == [16.0, 8.0]
    assert result.table["recency"].tolist() == [5, 4]          # as_of 2024-03-06; the return does not count
    assert result.quality.counts["possible_duplicates"] == 1
    assert result.frequency_basis == "transaction rows"


def test_as_of_in_the_past_leaves_later_transactions_out():
    result = compute_rfm(LINES, as_of="2024-01-10")
    table = result.table
    # Transactions on the as-of date count (recency 0); later ones are left out.
    assert table.loc["A", "recency"] == 0
    assert table.loc["A", "frequency"] == 2
    assert table.loc["A", "monetary"] == 35.0
    assert list(table.index) == ["A", "D"]


def test_as_of_counts_only_rows_with_customers():
    result = compute_rfm(LINES, as_of="2024-01-10")
    # After 2024-01-10 with a customer: C3 (A), 4 (B), C5 (C). Row 6 has no customer and was dropped before.
    assert result.quality.counts["after_as_of"] == 3
    assert result.quality.counts["after_as_of_amount"] == -7.0 + 100.0 - 30.0


def test_negative_quantity_is_a_return_and_amount_is_quantity_times_price():
    data = pd.DataFrame({"InvoiceNo": ["1", "1", "2", "3"], "CustomerID": ["X", "X", "X", "X"],
                         "InvoiceDate": ["2024-05-01", "2024-05-01", "2024-05-03", "2024-05-09"],
                         "Quantity": [2, 1, -1, 3], "UnitPrice": [2.5, 4.0, 2.5, 1.0]})
    table = rfm.rfm_table(data)
    assert table.loc["X", "monetary"] == 2 * 2.5 + 4.0 - 2.5 + 3.0
    assert table.loc["X", "frequency"] == 2            # orders 1 and 3; order 2 is a return
    assert table.loc["X", "recency"] == 1


def test_keep_takes_first_non_empty_value_per_customer():
    data = pd.DataFrame({"CustomerID": ["A", "A", "B"], "Date": ["2024-01-01", "2024-01-02", "2024-01-01"],
                         "Amount": [1.0, 2.0, 3.0], "Email": [None, "a@x.com", "b@x.com"],
                         "Region": ["North", "South", "East"]})
    table = rfm.rfm_table(data, keep=["Email", "Region"])
    assert table["Email"].tolist() == ["a@x.com", "b@x.com"]
    assert table["Region"].tolist() == ["North", "East"]
    assert list(table.columns[-2:]) == ["Email", "Region"]


def test_ids_stay_as_written():
    data = pd.DataFrame({"CustomerID": [12346.0, "00123", 7], "Date": ["2024-01-01"] * 3, "Amount": [1.0] * 3})
    assert sorted(rfm.rfm_table(data).index) == ["00123", "12346", "7"]


def test_timestamps_and_time_zones_use_calendar_dates():
    data = pd.DataFrame({"CustomerID": ["A", "B"],
                         "Date": pd.to_datetime(["2024-02-01 23:59:59", "2024-02-02 00:00:01"]),
                         "Amount": [1.0, 1.0]})
    table = rfm.rfm_table(data, as_of=datetime(2024, 2, 3, 18, 0))
    assert table["recency"].tolist() == [2, 1]


# ---- brute force: a plain loop over rows implements the definitions independently ----

def brute_force(rows, as_of):
    """Customer -> (recency, frequency, monetary) from (order, customer, day, amount) rows."""
    seen = set()
    orders, last, money = defaultdict(set), {}, defaultdict(float)
    for row in rows:
        order, customer, day, amount = row
        if customer is None or row in seen:
            continue
        seen.add(row)
        if day > as_of:
            continue
        cancel = order.startswith("C") or amount < 0
        money[customer] += -abs(amount) if cancel else amount
        if not cancel:
            orders[customer].add(order)
            last[customer] = max(last.get(customer, day), day)
    return {c: ((as_of - last[c]).days, len(orders[c]), money[c]) for c in orders}


row_strategy = st.tuples(
    st.sampled_from(["1", "2", "3", "C4", "5", "C6"]),
    st.sampled_from(["a", "b", "c", None]),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 1, 31)),
    st.sampled_from([-5.0, 0.0, 2.5, 10.0, 99.99]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(row_strategy, min_size=1, max_size=40), st.dates(min_value=date(2024, 1, 10),
                                                                  max_value=date(2024, 2, 5)))
def test_rfm_table_equals_brute_force(rows, as_of):
    frame = pd.DataFrame(rows, columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Amount"])
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    expected = brute_force(rows, as_of)
    if not expected:
        with pytest.raises(rfm.RfmError):
            rfm.rfm_table(frame, as_of=as_of)
        return
    table = rfm.rfm_table(frame, as_of=as_of)
    got = {c: (int(r.recency), int(r.frequency), r.monetary) for c, r in table.iterrows()}
    assert got.keys() == expected.keys()
    for customer, (recency, frequency, monetary) in expected.items():
        assert got[customer][:2] == (recency, frequency)
        assert got[customer][2] == pytest.approx(monetary)


def test_default_as_of_is_day_after_latest_transaction():
    data = pd.DataFrame({"CustomerID": ["A", "B"], "Date": ["2024-06-30 10:00", "2024-05-01"], "Amount": [1.0, 2.0]})
    table = rfm.rfm_table(data)
    assert table.attrs["as_of"] == pd.Timestamp("2024-07-01")
    assert table["recency"].tolist() == [1, 61]      # 2024-05-01 + 61 days = 2024-07-01


def test_an_order_id_shared_by_two_customers_counts_for_each():
    data = pd.DataFrame({"InvoiceNo": ["1", "1", "2", "2", "3"], "CustomerID": ["A", "B", "A", "A", "B"],
                         "InvoiceDate": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03"],
                         "Amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    table = rfm.rfm_table(data)
    assert table["frequency"].tolist() == [2, 2]     # A: orders 1, 2; B: orders 1, 3
