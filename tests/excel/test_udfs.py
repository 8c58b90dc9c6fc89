"""Worksheet functions called with exactly what xlwings delivers: nested lists of floats,
text, datetimes and None, error cells as text. Expected values are worked by hand."""
from __future__ import annotations

import datetime as dt
import inspect

import pandas as pd
import pytest

from rfm_addin.excel import convert, udfs

D = dt.datetime


def col(*values):
    """A one-column range as xlwings delivers it (ndim=2)."""
    return [[v] for v in values]


# Transactions: a buys on 01-01 (10) and 01-10 (5), b on 01-05 (7), c on 01-02 (1).
# The latest date is 2024-01-10, so as_of is 2024-01-11.
CUSTOMERS = col("Customer", "a", "a", "b", None, "c")
DATES = col("Date", D(2024, 1, 1), D(2024, 1, 10), D(2024, 1, 5), None, D(2024, 1, 2))
AMOUNTS = col("Amount", 10.0, 5.0, 7.0, None, 1.0)
HEADER = ["Customer", "Recency", "Frequency", "Monetary"]

# Five customers with distinct values: with 5 bins each value is its own band.
RECENCY = col("Recency", 1.0, 20.0, 5.0, 3.0, 10.0)
FREQUENCY = col("Frequency", 3.0, 1.0, 2.0, 4.0, 5.0)
MONETARY = col("Monetary", 100.0, 10.0, 50.0, 40.0, 30.0)
SCORES = [[5, 3, 5, "535", 13 / 3], [1, 1, 1, "111", 1.0], [3, 2, 4, "324", 3.0], [4, 4, 3, "443", 11 / 3],
          [2, 5, 2, "252", 3.0]]
SCORE_HEADER = ["R score", "F score", "M score", "RFM code", "RFM score"]


def is_error(result, *fragments):
    assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1, result
    text = result[0][0]
    assert text.startswith("#RFM! "), text
    assert "Traceback" not in text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text


# --------------------------------------------------------------------------------------
# RFM_TABLE
# --------------------------------------------------------------------------------------
def test_rfm_table_hand_worked():
    assert udfs.RFM_TABLE(CUSTOMERS, DATES, AMOUNTS) == [HEADER, ["a", 1, 2, 15.0], ["b", 6, 1, 7.0],
                                                         ["c", 9, 1, 1.0]]


def test_rfm_table_without_header_orders_and_as_of():
    result = udfs.RFM_TABLE(CUSTOMERS[1:], DATES[1:], AMOUNTS[1:], col("o1", "o1", "o2", None, "o3"),
                            D(2024, 2, 1))
    # a's two lines belong to one order; recency counts to 2024-02-01.
    assert result == [HEADER, ["a", 22, 1, 15.0], ["b", 27, 1, 7.0], ["c", 30, 1, 1.0]]


def test_rfm_table_numeric_ids_and_serial_as_of():
    result = udfs.RFM_TABLE(col(12346.0, 12346.0), col(D(2024, 1, 1), D(2024, 1, 3)), col(1.0, 2.0), None,
                            45300.0)  # serial 45300 = 2024-01-09
    assert result == [HEADER, ["12346", 6, 2, 3.0]]


def test_rfm_table_whole_column_references():
    pad = [[None]] * (convert.EXCEL_MAX_ROWS - len(CUSTOMERS))
    result = udfs.RFM_TABLE(CUSTOMERS + pad, DATES + pad, AMOUNTS + pad)
    assert result == [HEADER, ["a", 1, 2, 15.0], ["b", 6, 1, 7.0], ["c", 9, 1, 1.0]]


def test_rfm_table_error_cells_name_argument_and_row():
    bad = col("Amount", 10.0, "#N/A", 7.0, None, 1.0)
    is_error(udfs.RFM_TABLE(CUSTOMERS, DATES, bad), "amounts", "row 3", "#N/A")
    bad_dates = col("Date", D(2024, 1, 1), D(2024, 1, 10), "#VALUE!", None, D(2024, 1, 2))
    is_error(udfs.RFM_TABLE(CUSTOMERS, bad_dates, AMOUNTS), "dates", "row 4", "#VALUE!")


def test_rfm_table_missing_amount_and_text_amount():
    missing = col("Amount", 10.0, None, 7.0, None, 1.0)
    is_error(udfs.RFM_TABLE(CUSTOMERS, DATES, missing), "amounts", "row 3")
    text = col("Amount", 10.0, 5.0, "ten", None, 1.0)
    is_error(udfs.RFM_TABLE(CUSTOMERS, DATES, text), "amounts", "row 4", "ten")


def test_rfm_table_header_only_and_mismatched_lengths():
    is_error(udfs.RFM_TABLE(col("Customer"), col("Date"), col("Amount")), "no rows")
    is_error(udfs.RFM_TABLE(CUSTOMERS, DATES[:3], AMOUNTS), "dates", "same height")


def test_rfm_table_too_tall_for_the_grid(monkeypatch):
    monkeypatch.setattr(convert, "EXCEL_MAX_ROWS", 3)
    is_error(udfs.RFM_TABLE(CUSTOMERS, DATES, AMOUNTS), "4 rows", "more than an Excel sheet holds")


def test_multi_column_argument_is_an_error():
    is_error(udfs.RFM_TABLE([["a", 1.0]], col(D(2024, 1, 1)), col(1.0)), "customers", "single column")


# --------------------------------------------------------------------------------------
# RFM_SCORE
# --------------------------------------------------------------------------------------
def test_rfm_score_hand_worked():
    assert udfs.RFM_SCORE(RECENCY, FREQUENCY, MONETARY) == [SCORE_HEADER] + SCORES


def test_rfm_score_outputs_weights_and_no_header():
    assert udfs.RFM_SCORE(RECENCY, FREQUENCY, MONETARY, None, None, "code") == \
        [["RFM code"], ["535"], ["111"], ["324"], ["443"], ["252"]]
    weighted = udfs.RFM_SCORE(RECENCY[1:], FREQUENCY[1:], MONETARY[1:], 5.0, [[2.0, 1.0, 1.0]], "score")
    assert weighted == [[(10 + 3 + 5) / 4], [1.0], [(6 + 2 + 4) / 4], [(8 + 4 + 3) / 4], [(4 + 5 + 2) / 4]]
    assert udfs.RFM_SCORE(RECENCY, FREQUENCY, MONETARY, None, "2,1,1", "SCORE")[1] == [4.5]


def test_rfm_score_blank_rows_keep_their_place():
    r = RECENCY[:3] + [[None]] + RECENCY[3:]
    f = FREQUENCY[:3] + [[None]] + FREQUENCY[3:]
    m = MONETARY[:3] + [[""]] + MONETARY[3:]
    result = udfs.RFM_SCORE(r, f, m)
    assert result == [SCORE_HEADER] + SCORES[:2] + [[""] * 5] + SCORES[2:]


def test_rfm_score_whole_columns():
    pad = [[None]] * (convert.EXCEL_MAX_ROWS - len(RECENCY))
    assert udfs.RFM_SCORE(RECENCY + pad, FREQUENCY + pad, MONETARY + pad) == [SCORE_HEADER] + SCORES


@pytest.mark.parametrize("cell, fragment", [
    ("#N/A", "Excel error"), ("abc", "'abc' is not a number"), (True, "True is not a number"),
    (None, "an empty cell"),
])
def test_rfm_score_bad_cells(cell, fragment):
    m = col("Monetary", 100.0, 10.0, cell, 40.0, 30.0)
    is_error(udfs.RFM_SCORE(RECENCY, FREQUENCY, m), "monetary, row 4", fragment)


def test_rfm_score_text_numbers_are_read():
    m = col("Monetary", "100", 10.0, "50", 40.0, 30.0)
    assert udfs.RFM_SCORE(RECENCY, FREQUENCY, m) == [SCORE_HEADER] + SCORES


def test_rfm_score_bad_arguments():
    is_error(udfs.RFM_SCORE(col("Recency"), col("Frequency"), col("Monetary")), "recency", "no rows")
    is_error(udfs.RFM_SCORE(RECENCY, FREQUENCY[:3], MONETARY), "frequency", "same height")
    is_error(udfs.RFM_SCORE(RECENCY, FREQUENCY, MONETARY, 12.0), "bins", "2 to 9")
    is_error(udfs.RFM_SCORE(RECENCY, FREQUENCY, MONETARY, 4.5), "bins", "whole number")
    is_error(udfs.RFM_SCORE(RECENCY, FREQUENCY, MONETARY, None, "1,1"), "weights", "three weights")
    is_error(udfs.RFM_SCORE(RECENCY, FREQUENCY, MONETARY, None, None, "everything"), "output")


def test_unexpected_errors_are_text_not_tracebacks(monkeypatch):
    def boom(*args, **kwargs):
        raise KeyError("x")

    monkeypatch.setattr(udfs, "score", boom)
    is_error(udfs.RFM_SCORE(RECENCY, FREQUENCY, MONETARY), "unexpected error", "KeyError")


def test_signatures_are_what_excel_sees():
    params = inspect.signature(udfs.RFM_SCORE).parameters
    assert list(params) == ["recency", "frequency", "monetary", "bins", "weights", "output"]
    assert udfs.RFM_TABLE.__doc__.startswith("One row per customer")
    for name in udfs.__all__:
        func = getattr(udfs, name)
        assert func.__doc__ and len(func.__doc__.splitlines()[0]) < 255


# --------------------------------------------------------------------------------------
# RFM_SEGMENT
# --------------------------------------------------------------------------------------
def test_rfm_segment_default_rules():
    # (R, F, M) -> FM = round_half_up((F + M) / 2) -> the default grid.
    r = col("R", 5.0, 1.0, 3.0, 2.0, 4.0)
    f = col("F", 5.0, 1.0, 3.0, 5.0, 1.0)
    m = col("M", 5.0, 2.0, 3.0, 5.0, 1.0)
    assert udfs.RFM_SEGMENT(r, f, m) == [["Segment"], ["Champions"], ["Lost"], ["Need Attention"],
                                         ["Can't Lose Them"], ["Promising"]]


def test_rfm_segment_rules_from_a_range_and_bins():
    rules = [["segment", "r_min", "r_max", "fm_min", "fm_max"], ["High", 3.0, 5.0, 1.0, 5.0],
             ["Low", 1.0, 2.0, 1.0, 5.0], [None, None, None, None, None]]
    assert udfs.RFM_SEGMENT(col(5.0, 1.0), col(5.0, 1.0), col(5.0, 2.0), rules) == [["High"], ["Low"]]
    # bins = 3: score s maps to ceil(5 s / 3): R 2 -> 4 (High), R 1 -> 2 (Low).
    assert udfs.RFM_SEGMENT(col(2.0, 1.0), col(1.0, 1.0), col(1.0, 1.0), rules, 3.0) == [["High"], ["Low"]]


def test_rfm_segment_bad_scores_and_rules():
    is_error(udfs.RFM_SEGMENT(col(5.0, 6.0), col(1.0, 1.0), col(1.0, 1.0)), "r_scores, row 2", "1 to 5")
    is_error(udfs.RFM_SEGMENT(col(5.0, 4.5), col(1.0, 1.0), col(1.0, 1.0)), "r_scores, row 2", "whole number")
    gap = [["segment", "r_min", "r_max", "fm_min", "fm_max"], ["High", 3.0, 5.0, 1.0, 5.0]]
    is_error(udfs.RFM_SEGMENT(col(5.0), col(1.0), col(1.0), gap), "no rule covers")


# --------------------------------------------------------------------------------------
# RFM_CLUSTER, RFM_KSELECT, RFM_PROFILE
# --------------------------------------------------------------------------------------
# Two far-apart groups: recent, frequent big spenders and long-gone one-time buyers.
CR = col("Recency", 1.0, 2.0, 3.0, 300.0, 310.0, 320.0)
CF = col("Frequency", 10.0, 11.0, 12.0, 1.0, 1.0, 2.0)
CM = col("Monetary", 1000.0, 1100.0, 1200.0, 10.0, 12.0, 15.0)


def test_rfm_cluster_separates_groups_and_is_deterministic():
    result = udfs.RFM_CLUSTER(CR, CF, CM, 2.0, 7.0)
    assert result == [["Cluster"], [1], [1], [1], [2], [2], [2]]  # cluster 1 spends most
    assert udfs.RFM_CLUSTER(CR, CF, CM, 2.0, 7.0) == result
    assert udfs.RFM_CLUSTER(CR[1:], CF[1:], CM[1:], "2") == result[1:]


def test_rfm_cluster_bad_k():
    is_error(udfs.RFM_CLUSTER(CR, CF, CM, 1.0), "k", "at least 2")
    is_error(udfs.RFM_CLUSTER(col(1.0, 2.0), col(1.0, 2.0), col(1.0, 2.0)), "at least 3 customers")


def test_rfm_kselect_table():
    result = udfs.RFM_KSELECT(CR, CF, CM, 4.0)
    assert result[0] == ["k", "Inertia", "Silhouette", "Chosen"]
    assert [row[0] for row in result[1:]] == [2, 3, 4]
    assert sum(row[3] is True for row in result[1:]) == 1
    inertia = [row[1] for row in result[1:]]
    assert inertia == sorted(inertia, reverse=True)


def test_rfm_profile_hand_worked():
    groups = col("Seg", "a", "b", "a", "b")
    r, f, m = col("R", 1.0, 3.0, 5.0, 7.0), col("F", 1.0, 2.0, 3.0, 4.0), col("M", 10.0, 20.0, 30.0, 40.0)
    result = udfs.RFM_PROFILE(groups, r, f, m)
    assert result[0] == ["Seg", "Customers", "Share of customers", "Mean recency (days)", "Median recency (days)",
                         "Mean frequency", "Median frequency", "Mean monetary", "Median monetary", "Revenue",
                         "Share of revenue", "Avg order value"]
    assert result[1] == ["a", 2, 0.5, 3.0, 3.0, 2.0, 2.0, 20.0, 20.0, 40.0, 0.4, 10.0]
    assert result[2] == ["b", 2, 0.5, 5.0, 5.0, 3.0, 3.0, 30.0, 30.0, 60.0, 0.6, 10.0]


def test_rfm_profile_cluster_numbers_and_missing_group():
    result = udfs.RFM_PROFILE(col(1.0, 2.0, 1.0), col(1.0, 2.0, 3.0), col(1.0, 1.0, 1.0), col(5.0, 5.0, 5.0))
    assert [row[0] for row in result] == ["Group", 1, 2]
    is_error(udfs.RFM_PROFILE(col("a", None, "b"), col(1.0, 2.0, 3.0), col(1.0, 1.0, 1.0), col(5.0, 5.0, 5.0)),
             "groups, row 2")


def test_seed_outside_range_is_named():
    result = udfs.RFM_CLUSTER(RECENCY, FREQUENCY, MONETARY, 2.0, 2.0**32)
    assert result == [["#RFM! seed: must be a whole number from 0 to 4294967295, not 4294967296."]]


def test_settings_seed_outside_range_is_named():
    from rfm_addin.core.errors import RfmError
    from rfm_addin.excel import settings

    with pytest.raises(RfmError, match="from 0 to 4294967295"):
        settings.parse_rows([["Setting", "Value"], ["Seed", 2.0**32]])
    assert settings.parse_rows([["Setting", "Value"], ["Seed", 2.0**32 - 1]]).seed == 2**32 - 1


def test_settings_as_of_text_follows_the_sheets_date_order():
    from rfm_addin.core.errors import RfmError
    from rfm_addin.excel import settings

    rows = [["Setting", "Value"], ["As-of date", "03/04/2024"], ["Date order", "day-first"]]
    assert settings.parse_rows(rows).as_of == pd.Timestamp("2024-04-03")
    rows[2][1] = "month-first"
    assert settings.parse_rows(rows).as_of == pd.Timestamp("2024-03-04")
    with pytest.raises(RfmError, match=r"RFM Settings, row 2: .*could be day-first or month-first"):
        settings.parse_rows(rows[:2])
