"""Clusters do not change with the seed (issue 13): across seeds 0..9 the lowest adjusted Rand
index between any two runs' labels is at least 0.98, with k given and with k chosen, on the
real CDNOW data (tests/data/CDNOW_master.txt, 23,570 customers) and on 5,000 demo customers.
Before the final fit got restarts, CDNOW gave 0.51 at k = 5."""
from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

import rfm_addin
from rfm_addin import cluster

DATA = Path(__file__).parent / "data" / "CDNOW_master.txt"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(DATA, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    table = rfm_addin.rfm_table(raw, customer="customer_id", date="date", amount="dollar_value")
    assert len(table) == 23_570
    return table


def lowest_ari(table: pd.DataFrame, k: int | None) -> tuple[float, set[int]]:
    runs = [cluster(table, k=k, random_state=seed) for seed in range(10)]
    labels = [r.labels.to_numpy() for r in runs]
    return min(adjusted_rand_score(a, b) for a, b in itertools.combinations(labels, 2)), {r.k for r in runs}


@pytest.mark.parametrize("k", [5, None])
def test_cdnow_clusters_are_the_same_for_every_seed(cdnow, k):
    ari, ks = lowest_ari(cdnow, k)
    assert ari >= 0.98, (k, ari)
    assert len(ks) == 1


@pytest.mark.parametrize("k", [4, 5, None])
def test_demo_clusters_are_the_same_for_every_seed(k):
    # 5,000 demo customers (with 3 restarts k = 4 gave 0.56). The default 1,000 does not reach 0.98
    # yet (0.96 at k = 4, 0.905 at k = 5): the rest of issue 13.
    table = rfm_addin.rfm_table(rfm_addin.demo_transactions(n_customers=5000))
    ari, ks = lowest_ari(table, k)
    assert ari >= 0.98, (k, ari)
    assert len(ks) == 1
