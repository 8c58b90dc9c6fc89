"""Migration between two as-of dates (issue 15): hand-worked revenue windows and statuses, the
matrix against a crosstab of two independent analyses, both modes, PSI by hand, the CDNOW figures."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rfm_addin as rfm
from rfm_addin.core.errors import RfmError
from rfm_addin.core.migration import psi_band, psi_value
from rfm_addin.core.segments import segment_of

CDNOW = Path(__file__).parent / "data" / "CDNOW_master.txt"

#: a: three orders and one after; b: one order, then nothing; c: one order, two after; d: two orders,
#: one before the stake period; e: first buys after `before`.
HAND = pd.DataFrame([
    ("a", "2024-01-10", 100.0), ("a", "2024-02-10", 100.0), ("a", "2024-03-30", 100.0), ("a", "2024-06-29", 100.0),
    ("b", "2024-01-05", 10.0),
    ("c", "2024-03-25", 20.0), ("c", "2024-06-20", 200.0), ("c", "2024-06-25", 200.0),
    ("d", "2023-12-01", 50.0), ("d", "2024-01-02", 50.0),
    ("e", "2024-05-01", 30.0),
], columns=["Customer", "Date", "Amount"]).assign(Date=lambda f: pd.to_datetime(f["Date"]))


def test_revenue_at_stake_and_after_by_hand():
    m = rfm.migration(HAND, "2024-03-31", "2024-06-30", bins=2)
    c = m.customers
    # after - before = 91 days, so the stake period is (2023-12-31, 2024-03-31]
    assert c["revenue_before"].to_dict() == {"a": 300.0, "b": 10.0, "c": 20.0, "d": 50.0, "e": 0.0}
    assert c["revenue_after"].to_dict() == {"a": 100.0, "b": 0.0, "c": 400.0, "d": 0.0, "e": 30.0}
    assert c.loc["e", "status"] == "new" and pd.isna(c.loc["e", "segment_before"])
    assert m.matrix.loc["new"].sum() == 1 and m.matrix["gone"].sum() == 0
    assert m.revenue.to_numpy().sum() == pytest.approx(380.0)
    assert m.shares.loc["new"].sum() == pytest.approx(1.0) and m.shares.loc["Lost"].sum() == 0.0   # an empty row
    assert m.revenue_after.to_numpy().sum() == pytest.approx(530.0)


def test_hand_segments_before():
    # before (2024-03-31), 2 bins: recency a 1, c 6 | b 86, d 89; frequency b, c 1 | d 2, a 3; monetary
    # b 10, c 20 | d 100, a 300. Scores 2 -> 5 and 1 -> 3 on the rules' scale; FM = (5 + 5 + 1) // 2 = 5 or 3.
    m = rfm.migration(HAND, "2024-03-31", "2024-06-30", bins=2)
    assert m.customers["segment_before"].dropna().to_dict() == {
        "a": "Champions", "b": "Need Attention", "c": "Potential Loyalists", "d": "Loyal Customers"}


def test_window_makes_customers_gone():
    m = rfm.migration(HAND, "2024-03-31", "2024-06-30", bins=2, window=100)
    c = m.customers
    # at 2024-06-30, b (177 days) and d (180 days) have no purchase in the last 100 days
    assert set(c.index[c["status"] == "gone"]) == {"b", "d"}
    assert c.loc[["b", "d"], "segment_after"].isna().all()
    assert m.matrix["gone"].sum() == 2 and m.matrix.loc["Need Attention", "gone"] == 1
    # gone counts as lost: b's 10 and d's 50 at stake, plus any move down
    down = c.loc[c["status"] == "down", "revenue_before"].sum()
    assert m.revenue_lost == pytest.approx(60.0 + down)


@pytest.mark.parametrize("window", [None, 90])
def test_relative_matrix_is_the_crosstab_of_two_independent_analyses(window):
    tx = rfm.demo_transactions(n_customers=400)
    m = rfm.migration(tx, "2025-03-31", "2025-09-30", window=window)
    early, late = rfm.rfm_table(tx, as_of="2025-03-31"), rfm.rfm_table(tx, as_of="2025-09-30")
    if window:
        early, late = early[early["recency"] < window], late[late["recency"] < window]
    seg_early = rfm.segment(rfm.score(early)).get("segment")
    seg_late = rfm.segment(rfm.score(late)).get("segment")
    ids = early.index.union(late.index)
    expected = pd.crosstab(seg_early.reindex(ids).fillna("new"), seg_late.reindex(ids).fillna("gone"))
    got = m.matrix.loc[expected.index, expected.columns]
    assert (got.to_numpy() == expected.to_numpy()).all()
    assert m.matrix.to_numpy().sum() == len(ids)
    both = seg_early.reindex(ids).notna() & seg_late.reindex(ids).notna()
    assert m.changed_share == pytest.approx((seg_early.reindex(ids)[both] != seg_late.reindex(ids)[both]).mean())
    # every segment of the rule table is a row and a column, empty ones kept
    assert list(m.matrix.index) == list(rfm.DEFAULT_SEGMENTS["segment"]) + ["new"]
    assert list(m.matrix.columns) == list(rfm.DEFAULT_SEGMENTS["segment"]) + ["gone"]


def test_absolute_mode_applies_the_earlier_cut_points():
    tx = rfm.demo_transactions(n_customers=400)
    m = rfm.migration(tx, "2025-03-31", "2025-09-30", mode="absolute")
    early, late = rfm.rfm_table(tx, as_of="2025-03-31"), rfm.rfm_table(tx, as_of="2025-09-30")
    scores = [rfm.fit_binning(early[c], bins=5, higher_is_better=(c != "recency")).apply(late[c])
              for c in ("recency", "frequency", "monetary")]
    expected = pd.Series(segment_of(*scores), index=late.index)
    assert (m.customers["segment_after"].reindex(late.index) == expected).all()
    assert (m.threshold_changes["text"].str.contains("as before").sum()
            >= (m.threshold_changes["before"] == m.threshold_changes["after"]).sum())


def test_status_follows_the_rule_order():
    tx = rfm.demo_transactions(n_customers=400)
    m = rfm.migration(tx, "2025-03-31", "2025-09-30", window=120)
    rank = {s: i for i, s in enumerate(rfm.DEFAULT_SEGMENTS["segment"].drop_duplicates())}
    for row in m.customers.itertuples():
        was, now = row.segment_before, row.segment_after
        if pd.isna(was):
            assert row.status == "new"
        elif pd.isna(now):
            assert row.status == "gone"
        else:
            assert row.status == ("stay" if was == now else "up" if rank[now] < rank[was] else "down")
    assert set(m.customers["status"]) <= {"stay", "up", "down", "new", "gone"}


def test_psi_by_hand_and_its_bands():
    assert psi_value([0.5, 0.5], [0.25, 0.75]) == pytest.approx(-0.25 * math.log(0.5) + 0.25 * math.log(1.5))
    # an empty band counts as 1e-4
    assert psi_value([0.5, 0.5], [0.0, 1.0]) == pytest.approx((1e-4 - 0.5) * math.log(1e-4 / 0.5) + 0.5 * math.log(2))
    assert psi_value([0.2, 0.8], [0.2, 0.8]) == 0.0
    assert [psi_band(v) for v in (0.0, 0.0999, 0.1, 0.25, 0.2501)] == [
        "no change", "no change", "moderate", "moderate", "major"]


def test_threshold_change_sentences():
    m = rfm.migration(HAND, "2024-03-31", "2024-06-30", bins=2)
    texts = dict(zip(zip(m.threshold_changes["score"], m.threshold_changes["level"]), m.threshold_changes["text"]))
    # R = 2 before: a (1 day), c (6 days); after: recency 1, 5, 60 -> "within 60"
    assert texts[("R", 2)] == "R = 2 was within 6 days, now within 60"
    assert texts[("F", 2)].startswith("F = 2 ")


@pytest.mark.parametrize("before, after, message", [
    ("2024-06-30", "2024-03-31", "must be later than before"),
    ("2024-03-31", "2024-03-31", "must be later than before"),
    ("2020-01-01", "2024-03-31", "no purchases on or before 2020-01-01"),
    ("2024-03-31", "2024-08-01", r"after \(2024-08-01\) is later than the data: the last transaction is on "
                                 r"2024-06-29, so choose 2024-06-30 or earlier"),
    ("2024-01-06", "2024-01-09", "There are no transactions after 2024-01-06 up to 2024-01-09"),
])
def test_bad_dates_are_one_clear_message(before, after, message):
    with pytest.raises(RfmError, match=message):
        rfm.migration(HAND, before, after)


def test_too_few_customers_and_bad_options():
    with pytest.raises(RfmError, match="has 1 customer with a purchase in its last 5 days"):
        rfm.migration(HAND, "2024-03-31", "2024-06-30", window=5)
    with pytest.raises(RfmError, match="mode must be 'relative' or 'absolute'"):
        rfm.migration(HAND, "2024-03-31", "2024-06-30", mode="frozen")
    with pytest.raises(RfmError, match="window must be a whole number"):
        rfm.migration(HAND, "2024-03-31", "2024-06-30", window=0)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


@pytest.mark.parametrize("mode, share, lost_after", [("relative", 0.258, None), ("absolute", 0.626, 11_249)])
def test_cdnow_figures(cdnow, mode, share, lost_after):
    m = rfm.migration(cdnow, "1997-10-01", "1998-01-01", mode=mode, customer="customer_id", date="date",
                      amount="dollar_value")
    assert round(m.changed_share, 3) == share
    assert m.matrix.to_numpy().sum() == 23_570 and m.matrix.loc["new"].sum() == 0
    assert m.matrix.loc["Lost"].sum() == 3_710
    if lost_after is not None:
        assert m.matrix["Lost"].sum() == lost_after
        assert m.psi.loc["segment", "band"] == "major"


def test_cli_writes_the_migration_workbook(tmp_path, capsys):
    from openpyxl import load_workbook

    from rfm_addin.cli import main

    source = tmp_path / "tx.csv"
    HAND.to_csv(source, index=False)
    out = tmp_path / "moved.xlsx"
    assert main(["migration", str(source), "--before", "2024-03-31", "--after", "2024-06-30", "--bins", "2",
                 "--window", "100", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out}" in printed and "2 gone" in printed
    book = load_workbook(out)
    assert book.sheetnames == ["RFM Migration", "RFM Migration Customers"]
    sheet = book["RFM Migration"]
    assert set(sheet.tables) == {"RFM_MigrationFindings", "RFM_MigrationCounts", "RFM_MigrationShares",
                                 "RFM_MigrationRevenue", "RFM_MigrationMoves", "RFM_MigrationPSI",
                                 "RFM_MigrationThresholds"}
    m = rfm.migration(HAND, "2024-03-31", "2024-06-30", bins=2, window=100)
    ref = sheet.tables["RFM_MigrationCounts"].ref
    rows = [[c.value for c in row] for row in sheet[ref]]
    assert rows[0] == ["Segment before", *m.matrix.columns]
    assert [r[0] for r in rows[1:]] == list(m.matrix.index)
    assert [r[1:] for r in rows[1:]] == m.matrix.to_numpy().tolist()
    customers = book["RFM Migration Customers"]
    table = customers.tables["RFM_MigrationCustomers"]
    header = [c.value for c in customers[table.ref][0]]
    assert header[:3] == ["Customer", "Segment before", "Segment after"] and "Status" in header
    statuses = {row[0].value: row[header.index("Status")].value for row in customers[table.ref][1:]}
    assert statuses == m.customers["status"].to_dict()
    # a bad date is one line on stderr, status 2, nothing written
    bad = tmp_path / "bad.xlsx"
    assert main(["migration", str(source), "--before", "2024-06-30", "--after", "2024-03-31", "-o", str(bad)]) == 2
    assert not bad.exists() and "must be later than before" in capsys.readouterr().err


def _as_columns(frame: pd.DataFrame) -> tuple[list, list, list]:
    return ([["Customer"]] + [[c] for c in frame["Customer"]],
            [["Date"]] + [[d.to_pydatetime()] for d in frame["Date"]],
            [["Amount"]] + [[a] for a in frame["Amount"]])


@pytest.mark.parametrize("mode", [None, "absolute"])
def test_worksheet_functions_give_the_library_migration(mode):
    import datetime as dt

    from rfm_addin.excel import udfs

    tx = rfm.demo_transactions(n_customers=150)
    tx = tx.rename(columns={"CustomerID": "Customer", "OrderDate": "Date", "OrderAmount": "Amount"})
    customers, dates, amounts = _as_columns(tx)
    before, after = dt.datetime(2025, 3, 31), dt.datetime(2025, 9, 30)
    m = rfm.migration(tx, "2025-03-31", "2025-09-30", mode=mode or "relative")
    grid = udfs.RFM_MIGRATION(customers, dates, amounts, before, after, mode)
    assert grid[0] == ["Segment before", *m.matrix.columns]
    assert [row[0] for row in grid[1:]] == list(m.matrix.index)
    assert [row[1:] for row in grid[1:]] == m.matrix.to_numpy().tolist()
    moved = udfs.RFM_MOVED(customers, dates, amounts, before, after, mode)
    assert moved[0] == ["Customer", "Segment before", "Segment after", "Status"]
    ids = [row[0] for row in moved[1:]]
    assert ids == sorted(ids) == list(rfm.rfm_table(tx, as_of="2025-09-30").index)    # as RFM_TABLE sorts them
    assert {row[0]: row[3] for row in moved[1:]} == m.customers["status"].to_dict()
    assert all(row[1] is None for row in moved[1:] if row[3] == "new")


def test_worksheet_function_errors_are_messages_in_the_cell():
    import datetime as dt

    from rfm_addin.excel import udfs

    customers, dates, amounts = _as_columns(HAND)
    got = udfs.RFM_MIGRATION(customers, dates, amounts, dt.datetime(2024, 6, 30), dt.datetime(2024, 3, 31))
    assert got[0][0].startswith("#RFM!") and "must be later than before" in got[0][0]
    got = udfs.RFM_MOVED(customers, dates, amounts, dt.datetime(2024, 3, 31), dt.datetime(2024, 6, 30), "frozen")
    assert got[0][0].startswith("#RFM!") and "mode" in got[0][0]


# --------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------
def test_history_counts_are_independent_analyses_at_each_date():
    tx = rfm.demo_transactions(n_customers=300)
    h = rfm.history(tx, freq="quarter", start="2024-04-01", end="2025-12-31")
    assert h.dates[0] == pd.Timestamp("2024-04-01") and h.dates[-1] == pd.Timestamp("2025-12-31")
    assert len(h.dates) == 8 and len(h.segments) == 8 * 11
    for when in h.dates:
        expected = rfm.segment(rfm.score(rfm.rfm_table(tx, as_of=when)))["segment"].value_counts()
        got = h.segments.loc[h.segments["as_of"] == when].set_index("segment")["customers"]
        assert got[got > 0].sort_index().to_dict() == expected.sort_index().to_dict(), when


def test_history_revenue_is_the_net_spend_of_each_period():
    tx = rfm.demo_transactions(n_customers=300)
    h = rfm.history(tx, freq="quarter", start="2024-04-01", end="2025-12-31")
    days = tx["OrderDate"]
    previous = None
    for when in h.dates:
        inside = (days <= when) if previous is None else ((days > previous) & (days <= when))
        expected = tx.loc[inside, "OrderAmount"].sum()
        got = h.segments.loc[h.segments["as_of"] == when, "revenue"].sum()
        assert got == pytest.approx(expected), when
        previous = when


def test_history_customer_runs_by_hand():
    # HAND at 2024-01-31, 2024-03-31, 2024-06-30 (monthly "start" dates are not used: explicit start/end
    # and a custom frequency of two months)
    h = rfm.history(HAND, freq="2MS", start="2024-01-01", end="2024-06-30", bins=2)
    wide = h.segments.pivot(index="as_of", columns="segment", values="customers")
    assert list(wide.index) == list(pd.to_datetime(["2024-01-01", "2024-03-01", "2024-05-01", "2024-06-30"]))
    runs = h.customers
    assert set(runs.index) == {"a", "b", "c", "d", "e"}
    for customer, row in runs.iterrows():
        seen = [h_seg for h_seg in (
            _segment_at(h, customer, when) for when in h.dates) if h_seg is not None]
        assert row["segment"] == seen[-1]
        run = 0
        for value in reversed(seen):
            if value != row["segment"]:
                break
            run += 1
        assert row["periods_in_segment"] == run
        earlier = seen[:len(seen) - run]
        assert (row["previous_segment"] if isinstance(row["previous_segment"], str) else None) == (
            earlier[-1] if earlier else None)


def _segment_at(h, customer, when):
    table = rfm.rfm_table(HAND, as_of=when)
    if customer not in table.index or len(table) < 1:
        return None
    return rfm.segment(rfm.score(table, bins=2), bins=2)["segment"][customer]


def test_history_bad_period():
    with pytest.raises(RfmError, match="is not a period"):
        rfm.history(HAND, freq="fortnight-ish")
    with pytest.raises(RfmError, match="only one"):
        rfm.history(HAND, freq="YS", start="2024-02-01", end="2024-06-30")


def test_cli_writes_the_history_workbook(tmp_path, capsys):
    from openpyxl import load_workbook

    from rfm_addin.cli import main

    tx = rfm.demo_transactions(n_customers=200)
    source = tmp_path / "tx.csv"
    tx.to_csv(source, index=False)
    out = tmp_path / "history.xlsx"
    exports = tmp_path / "segments"
    assert main(["history", str(source), "--every", "quarter", "--start", "2024-04-01", "--end", "2025-12-31",
                 "-o", str(out), "--export-segments", str(exports)]) == 0
    assert "8 dates from 2024-04-01 to 2025-12-31" in capsys.readouterr().out
    book = load_workbook(out)
    assert book.sheetnames == ["RFM History", "RFM History Customers"]
    sheet = book["RFM History"]
    assert set(sheet.tables) == {"RFM_HistoryShares", "RFM_History"}
    h = rfm.history(tx, freq="quarter", start="2024-04-01", end="2025-12-31")
    rows = [[c.value for c in row] for row in sheet[sheet.tables["RFM_History"].ref]]
    assert rows[0][:3] == ["As of", "Segment", "Customers"]
    assert [r[2] for r in rows[1:]] == h.segments["customers"].tolist()
    customers = book["RFM History Customers"]
    header = [c.value for c in customers[customers.tables["RFM_HistoryCustomers"].ref][0]]
    assert header == ["CustomerID", "Segment", "Previous segment", "In segment since", "Periods in segment"]
    # the segment exports carry the history to a CRM: one file per segment of the last date
    lost = pd.read_csv(exports / "Lost.csv", dtype={"CustomerID": str})
    assert lost.columns.tolist() == ["CustomerID", "segment", "previous_segment", "segment_since",
                                     "periods_in_segment"]
    expected = h.customers.loc[h.customers["segment"] == "Lost"]
    assert lost["CustomerID"].tolist() == expected.index.tolist()
    assert lost["periods_in_segment"].tolist() == expected["periods_in_segment"].tolist()


def test_cluster_matching_undoes_a_swap_of_numbers():
    from rfm_addin.core.migration import match_clusters

    rng = np.random.default_rng(3)
    ids = [f"c{i:03d}" for i in range(90)]
    group = np.repeat([0, 1, 2], 30)
    # three groups far apart on recency and frequency; monetary: group 0 spends most at the earlier date,
    # group 1 at the later, so numbering by mean monetary swaps clusters 1 and 2 between the dates
    recency = np.array([10.0, 200.0, 400.0])[group] + rng.uniform(0, 5, 90)
    frequency = np.array([20.0, 5.0, 1.0])[group] + rng.integers(0, 2, 90)
    early = pd.DataFrame({"recency": recency, "frequency": frequency,
                          "monetary": np.array([500.0, 450.0, 20.0])[group] * rng.uniform(1, 1.02, 90)}, index=ids)
    late = early.assign(recency=early["recency"] + 3,
                        monetary=np.array([430.0, 520.0, 20.0])[group] * rng.uniform(1, 1.02, 90))
    a, b = rfm.cluster(early, k=3, stability=False), rfm.cluster(late, k=3, stability=False)
    # the raw numbers swapped: the group 0 customers are cluster 1 before, cluster 2 after
    assert a.labels.iloc[0] == 1 and b.labels.iloc[0] == 2
    match = match_clusters(early, a, late, b)
    assert match.pairs["matched"].all() and match.gone == []
    assert (match.labels == a.labels).all() and match.stayed_share == 1.0 and match.ari == 1.0
    assert match.pairs.loc[2, "earlier"] == 1 and match.pairs.loc[2, "name"] == a.names[1]


def test_cluster_matching_far_clusters_are_new_and_gone():
    from rfm_addin.core.migration import match_clusters

    rng = np.random.default_rng(4)
    ids = [f"c{i:03d}" for i in range(60)]
    group = np.repeat([0, 1], 30)
    early = pd.DataFrame({"recency": np.array([10.0, 300.0])[group] + rng.uniform(0, 3, 60),
                          "frequency": np.array([10.0, 1.0])[group], "monetary": np.array([300.0, 20.0])[group]},
                         index=ids)
    late = early.copy()
    late.loc[ids[30:], ["recency", "frequency", "monetary"]] = [5.0, 40.0, 5000.0]   # one group changed beyond recognition
    late.loc[ids[30:], "recency"] += rng.uniform(0, 3, 30)
    a, b = rfm.cluster(early, k=2, stability=False), rfm.cluster(late, k=2, stability=False)
    match = match_clusters(early, a, late, b, max_distance=1.0)
    assert match.pairs["matched"].sum() == 1 and len(match.gone) == 1
    new = match.pairs.loc[~match.pairs["matched"]]
    assert new["earlier"].tolist() == [3] and (new["distance"] > 1.0).all()


def test_migration_with_clusters_matches_them(cdnow):
    m = rfm.migration(cdnow, "1997-10-01", "1998-01-01", customer="customer_id", date="date", amount="dollar_value",
                      clusters=True)
    c = m.clusters
    assert c is not None and len(c.pairs) >= 2
    matched = c.pairs.loc[c.pairs["matched"]]
    assert (matched["distance"] <= 1.0).all() and (c.pairs.loc[~c.pairs["matched"], "distance"] > 1.0).all()
    assert len(set(c.pairs["earlier"])) == len(c.pairs)       # every later cluster has its own number
    assert 0 <= c.stayed_share <= 1 and -1 <= c.ari <= 1
    from rfm_addin.core.migration import migration_findings

    assert any(line.startswith("Clusters refitted at 1998-01-01") for line in migration_findings(m))


def test_up_down_and_stay_by_hand():
    # before 2024-03-31, 2 bins: R x 1, w 30 | z 59, y 86; F and M x, w | z, y -> x and w Champions, z and y Need
    # Attention. after 2024-06-30: R y 1, w 10 | x 92, z 150; F {1} | {3, 5}: x, y, w | z; M x 300, y 410 | w 150,
    # z 20. So x: R 3, FM 5 = Loyal Customers (down); y: R 5, FM 5 = Champions (up); w: R 5, FM (5 + 3 + 1) // 2 = 4 =
    # Champions (stay); z: Need Attention (stay).
    tx = pd.DataFrame([
        ("x", "2024-03-25", 100.0), ("x", "2024-03-28", 100.0), ("x", "2024-03-30", 100.0),
        ("y", "2024-01-05", 10.0), ("y", "2024-06-25", 100.0), ("y", "2024-06-27", 100.0), ("y", "2024-06-28", 100.0),
        ("y", "2024-06-29", 100.0),
        ("z", "2024-02-01", 20.0),
        ("w", "2024-02-15", 50.0), ("w", "2024-03-01", 50.0), ("w", "2024-06-20", 50.0),
    ], columns=["Customer", "Date", "Amount"]).assign(Date=lambda f: pd.to_datetime(f["Date"]))
    m = rfm.migration(tx, "2024-03-31", "2024-06-30", bins=2)
    c = m.customers
    assert c["segment_before"].to_dict() == {"w": "Champions", "x": "Champions", "y": "Need Attention",
                                             "z": "Need Attention"}
    assert c["segment_after"].to_dict() == {"w": "Champions", "x": "Loyal Customers", "y": "Champions",
                                            "z": "Need Attention"}
    assert c["status"].to_dict() == {"w": "stay", "x": "down", "y": "up", "z": "stay"}
    assert m.changed_share == 0.5
    # x is down: its 300 spent in the 91 days before 2024-03-31 is revenue lost
    assert m.revenue_lost == 300.0
    assert m.matrix.loc["Champions", "Loyal Customers"] == 1 and m.matrix.loc["Need Attention", "Champions"] == 1


@pytest.mark.parametrize("with_orders", [False, True])
def test_history_aggregates_once_and_equals_rfm_table_at_each_date(with_orders):
    from rfm_addin.core.rfm import cumulative_tables

    tx = rfm.demo_transactions(n_customers=300)
    if with_orders:
        # order ids shared by a customer's lines of one day, a cancelled order ("C..."), a line without an id
        tx["Invoice"] = tx["CustomerID"] + "-" + tx["OrderDate"].dt.strftime("%Y%m%d")
        tx.loc[5, "Invoice"] = "C" + tx.loc[5, "Invoice"]
        tx.loc[7, "Invoice"] = None
    dates = list(pd.date_range("2024-01-01", "2025-12-31", freq="QS"))
    tables, _ = cumulative_tables(tx, dates, order="Invoice" if with_orders else None)
    assert tables[0] is None          # the demo's first purchase is after 2024-01-01
    with pytest.raises(RfmError, match="No purchases were found on or before the as-of date"):
        rfm.rfm_table(tx, as_of=dates[0], order="Invoice" if with_orders else None)
    for when, table in zip(dates[1:], tables[1:]):
        expected = rfm.rfm_table(tx, as_of=when, order="Invoice" if with_orders else None)
        pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    with pytest.raises(RfmError, match="increasing"):
        cumulative_tables(tx, dates[::-1])
