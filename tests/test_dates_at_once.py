"""Text dates parsed at once (issue 19) give what the general per-value path gives: the same
dates, or the same error naming the same rows, on generated columns of common export
formats with blanks, serials, error values, padding, offsets and a second format mixed in."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_addin.core import parsing
from rfm_addin.core.errors import DataError

FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%dT%H:%M", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y %H:%M",
           "%d/%m/%y", "%d %b %Y", "%Y%m%d", "%m/%d/%Y %I:%M %p"]
ODD = [None, "45123", "#N/A", " 2024-01-05", "2024-01-05T10:00:00+02:00", "03/04/2024", "", "not a date",
       "9999-12-31"]


def _read(values: pd.Series, dayfirst, at_once: bool, monkeypatch):
    monkeypatch.setattr(parsing, "_AT_ONCE_ROWS", 1 if at_once else 10**12)
    monkeypatch.setattr(parsing, "_AT_ONCE_SAMPLE", 3)      # odd values mostly beyond the sample
    try:
        return parsing.read_dates(values, "Date", 2, dayfirst=dayfirst), None
    except DataError as exc:
        return None, (str(exc), exc.rows)


@settings(max_examples=120, deadline=None)
@given(fmt=st.sampled_from(FORMATS),
       days=st.lists(st.integers(0, 3000), min_size=1, max_size=40),
       seconds=st.integers(0, 86399),
       odd=st.lists(st.tuples(st.integers(0, 39), st.sampled_from(ODD)), max_size=3),
       dayfirst=st.sampled_from([None, True, False]),
       as_object=st.booleans())
def test_at_once_equals_the_general_path(fmt, days, seconds, odd, dayfirst, as_object):
    stamps = pd.Timestamp("2018-01-01") + pd.to_timedelta(days, unit="D") + pd.Timedelta(seconds=seconds)
    texts = list(stamps.strftime(fmt))
    for position, value in odd:
        texts[position % len(texts)] = value
    values = pd.Series(texts, dtype=object if as_object else None)
    with pytest.MonkeyPatch.context() as mp:
        fast, fast_error = _read(values, dayfirst, True, mp)
        slow, slow_error = _read(values, dayfirst, False, mp)
    assert fast_error == slow_error
    if slow is not None:
        np.testing.assert_array_equal(fast, slow)


def test_the_common_export_is_read_at_once(monkeypatch):
    """The issue's column ("2024-05-04 18:55:44", every value distinct) takes the vectorised
    parse: the per-value loop is never entered."""
    values = pd.Series((pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(5000) * 977, unit="s"))
                       .strftime("%Y-%m-%d %H:%M:%S"))

    def refuse(*args, **kwargs):
        raise AssertionError("the general path ran")

    monkeypatch.setattr(parsing, "_by_uniques", refuse)
    got = parsing.read_dates(values, "InvoiceDate", 2)
    np.testing.assert_array_equal(got, pd.to_datetime(values).to_numpy())
    # an ambiguous column that the sample cannot settle goes to the general path and its message
    monkeypatch.undo()
    ambiguous = pd.Series(["03/04/2024", "05/06/2024"] * 600)
    with pytest.raises(DataError, match="could be day-first or month-first"):
        parsing.read_dates(ambiguous, "Date", 2)
