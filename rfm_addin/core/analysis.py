"""The whole analysis in one call, and its result object.

:func:`analyze_result` runs score -> segment -> cluster -> profiles -> insights on a customer
table with one set of parameters; :func:`rfm_addin.analyze` (the API layer) aggregates the
transactions first, so the Excel ribbon, the command line and Python users get the same
numbers from the same code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .clv import CustomerValues, value_by
from .clustering import K_SELECTION_COLUMNS, SILHOUETTE_SAMPLE, ClusterResult, TooFewCustomers, cluster
from .describe import nouns_for
from .insights import build_insights
from .profiles import PROFILE_COLUMNS, extra_profile, profile
from .ranges import segment_ranges
from .value_findings import value_findings
from .rfm import RfmResult
from .scoring import score, thresholds
from .segments import rules_used, segment


@dataclass
class Analysis:
    """Everything an RFM analysis produces.

    Attributes
    ----------
    customers : DataFrame
        One row per customer: recency, frequency, monetary, purchase dates, average order
        value, kept columns, r/f/m scores, rfm_code, rfm_score, segment, cluster,
        cluster_name.
    thresholds : DataFrame
        What each score means (see :func:`rfm_addin.thresholds`).
    segment_summary : DataFrame
        Profile per segment, most revenue first, with each segment's description and action.
    cluster_profile : DataFrame
        Profile per cluster (1..k) with its name.
    k_selection : DataFrame
        Inertia and silhouette per k, the chosen k marked.
    quality : DataFrame
        The data-quality report (check, count, unit, amount, treatment).
    insights : list of str
        Plain-language findings.
    as_of : Timestamp
        The date recency is measured to.
    parameters : dict
        The parameters used, for the record.
    rules : DataFrame
        The segment rules used.
    cluster_segments : DataFrame
        Per cluster, the share of its customers in each segment (:func:`segment_mix`).
    values : CustomerValues or None
        With ``clv=True``: the CLV models, their settings and notes; the customer table then
        has :data:`~rfm_addin.core.clv.VALUE_COLUMNS` and the summaries
        :data:`~rfm_addin.core.clv.GROUP_VALUE_COLUMNS`.
    """

    customers: pd.DataFrame
    thresholds: pd.DataFrame
    segment_summary: pd.DataFrame
    cluster_profile: pd.DataFrame
    k_selection: pd.DataFrame
    quality: pd.DataFrame
    insights: list[str]
    as_of: pd.Timestamp
    parameters: dict = field(default_factory=dict)
    rules: pd.DataFrame = field(default_factory=pd.DataFrame)
    cluster_segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    values: CustomerValues | None = None


#: The columns of a cluster profile besides :data:`PROFILE_COLUMNS`.
CLUSTER_COLUMNS = ["cluster_name", "stability", "jaccard"]


def cluster_table(table: pd.DataFrame, clusters: ClusterResult) -> pd.DataFrame:
    """The profile per cluster (1..k): name, stability word and Jaccard, the profile columns
    and the recommended action (empty with these columns when clustering was skipped)."""
    if not clusters.k:
        return pd.DataFrame(columns=[*CLUSTER_COLUMNS, *PROFILE_COLUMNS, "action"],
                            index=pd.Index([], name="cluster", dtype="int64"))
    frame = profile(table, clusters.labels.rename("cluster"), columns=[])
    frame.index.name = "cluster"
    frame.insert(0, "cluster_name", clusters.names)
    if len(clusters.stability):
        frame.insert(1, "stability", clusters.stability["stability"])
        frame.insert(2, "jaccard", clusters.stability["jaccard"])
    frame["action"] = clusters.actions
    return frame


def segment_mix(customers: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Share of each segment (columns, in rule-table order, empty ones kept) per cluster
    (rows): the two views read together. Empty when there are no clusters."""
    labelled = customers.loc[customers["cluster"].notna()]
    order = list(dict.fromkeys(rules["segment"]))
    if labelled.empty:
        return pd.DataFrame(columns=["cluster_name", *order], index=pd.Index([], name="cluster", dtype="int64"))
    counts = pd.crosstab(labelled["cluster"].astype(np.int64), labelled["segment"]).reindex(columns=order, fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    shares.index.name = "cluster"
    shares.columns.name = None
    shares.insert(0, "cluster_name", labelled.groupby(labelled["cluster"].astype(np.int64))["cluster_name"].first())
    return shares


def _no_clusters(table: pd.DataFrame, reason: str) -> ClusterResult:
    """The clustering result when there are too few distinct customers to cluster."""
    selection = pd.DataFrame(columns=K_SELECTION_COLUMNS)
    selection.attrs.update(method="skipped", reason=reason)
    return ClusterResult(labels=pd.Series(pd.NA, index=table.index, dtype="Int64", name="cluster"), k=0,
                         centers=pd.DataFrame(columns=["recency", "frequency", "monetary"]),
                         k_selection=selection, names=pd.Series(dtype=object, name="cluster_name"))


def analyze_result(
    base: RfmResult,
    *,
    bins: int = 5,
    method: str = "balanced",
    weights=(1, 1, 1),
    rules: pd.DataFrame | None = None,
    k: int | None = None,
    k_range: Iterable[int] = range(2, 11),
    random_state: int = 0,
    sample_size: int = SILHOUETTE_SAMPLE,
    progress: Callable[[str], None] | None = None,
    result_type: type[Analysis] | None = None,
    values: CustomerValues | None = None,
) -> Analysis:
    """The analysis of a customer table: score -> segment -> cluster -> profiles -> insights.

    Parameters are those of :func:`rfm_addin.analyze` after the transactions, which have
    been aggregated into ``base`` (:func:`rfm_addin.sources.route.compute_rfm`).
    ``result_type`` is the class of the result (the API layer's :class:`rfm_addin.Analysis`
    adds ``to_excel``).

    When ``k`` is None and there are too few distinct customers to cluster (one customer,
    or all identical), scores and segments are still computed and clustering is skipped
    with the reason in the insights; with an explicit ``k`` that is an error.

    ``values`` (:func:`rfm_addin.core.clv.customer_values` on the same customers) adds CLV
    and churn risk to the customers, per-group value to the summaries, and value findings.
    """
    say = progress or (lambda text: None)
    table = base.table
    say(f"Scoring {len(table):,} customers")
    scored = score(table, bins=bins, weights=weights, method=method)
    segmented = segment(scored, rules=rules, bins=bins)
    say("Clustering")
    try:
        clusters = cluster(table, k=k, weights=weights, random_state=random_state, k_range=k_range,
                           sample_size=sample_size, frequency_basis=base.frequency_basis, progress=say)
    except TooFewCustomers as exc:
        if k is not None:
            raise
        clusters = _no_clusters(table, str(exc))
    customers = segmented.assign(cluster=clusters.labels, cluster_name=clusters.named_labels)
    if values is not None:
        customers = customers.join(values.table.reindex(customers.index))
    say("Profiling segments and clusters")
    rule_table = rules_used(rules)
    score_thresholds = thresholds(table, bins=bins, method=method, frequency_basis=base.frequency_basis)
    summary = profile(customers, "segment", columns=[]).sort_values("revenue", ascending=False, kind="stable")
    summary["ranges"] = segment_ranges(customers, score_thresholds, nouns_for(base.frequency_basis))
    texts = rule_table.drop_duplicates("segment").set_index("segment")[["description", "action"]]
    summary = summary.join(texts, how="left")
    cluster_profile = cluster_table(customers, clusters)
    if values is not None:
        summary = summary.join(value_by(customers, customers["segment"]))
        if clusters.k:
            labelled = customers.loc[customers["cluster"].notna()]
            by_cluster = value_by(labelled, labelled["cluster"].astype("int64"))
            cluster_profile = cluster_profile.join(by_cluster.rename_axis("cluster"))
    # the kept (or usage) columns' profiles after every existing column: formulas on the tables keep working
    summary = summary.join(extra_profile(customers, customers["segment"]))
    if clusters.k:
        labelled = customers.loc[customers["cluster"].notna()]
        cluster_profile = cluster_profile.join(extra_profile(labelled, labelled["cluster"].astype("int64")))
    insights = build_insights(customers, summary, cluster_profile, clusters, as_of=base.as_of,
                              frequency_basis=base.frequency_basis, rules=rule_table, thresholds=score_thresholds,
                              bins=bins)
    if values is not None:
        insights += value_findings(customers, summary, values)
    parameters = {
        "as_of": base.as_of, "customer": base.columns.customer, "date": base.columns.date,
        "amount": base.columns.amount or f"{base.columns.quantity} x {base.columns.price}",
        "order": base.columns.order, "frequency_basis": base.frequency_basis, "bins": bins, "method": method,
        "weights": tuple(weights), "k": clusters.k, "k_range": f"{min(k_range)}..{max(k_range)}",
        "random_state": random_state,
    }
    quality = base.quality
    if values is not None:
        quality = quality.copy()
        quality.add("clv_spend_left_out", "Repeat customers with a net repeat spend of zero or less", values.left_out,
                    "customers", "left out of the spend model (Gamma-Gamma); valued at the population mean spend")
        parameters.update(clv_horizon_days=values.horizon_days, clv_annual_discount=values.annual_discount,
                          clv_margin=values.margin, churn_days=values.churn_days,
                          **{f"pareto_nbd_{k}": v for k, v in values.purchases.params.items()},
                          **{f"gamma_gamma_{k}": v for k, v in values.spend.params.items()})
    return (result_type or Analysis)(customers=customers, thresholds=score_thresholds,
                    segment_summary=summary, cluster_profile=cluster_profile, k_selection=clusters.k_selection,
                    quality=quality.to_frame(), insights=insights, as_of=base.as_of, parameters=parameters,
                    rules=rule_table, cluster_segments=segment_mix(customers, rule_table),
                    values=values)


@dataclass
class CustomerClusters:
    """A customer-level table clustered, scored and segmented (:func:`cluster_customers`)."""

    customers: pd.DataFrame
    clusters: ClusterResult
    profile: pd.DataFrame
    segments: pd.DataFrame


def cluster_customers(table: pd.DataFrame, *, k: int | None = None, weights=(1, 1, 1), random_state: int = 0,
                      k_range: Iterable[int] = range(2, 11), bins: int = 5, method: str = "balanced",
                      frequency_basis: str | None = None,
                      progress: Callable[[str], None] | None = None) -> CustomerClusters:
    """Cluster a table that already has one row per customer (recency, frequency, monetary and
    any profile columns: a usage table, a CRM export): clusters, R/F/M scores and segments, the
    profile per cluster (with the profile columns appended) and the segment mix per cluster. The
    Cluster button and ``rfm-addin usage`` both call it."""
    say = progress or (lambda text: None)
    say(f"Clustering {len(table):,} customers")
    k_values = [v for v in k_range if v < len(table)]
    result = cluster(table, k=k, weights=weights, random_state=random_state, k_range=k_values or [2],
                     frequency_basis=frequency_basis, progress=say)
    segmented = segment(score(table, bins=bins, weights=weights, method=method),
                        bins=bins).assign(cluster=result.labels, cluster_name=result.named_labels)
    profile_frame = cluster_table(table, result)
    profile_frame = profile_frame.join(extra_profile(table, result.labels.to_numpy()).rename_axis("cluster"))
    return CustomerClusters(customers=segmented, clusters=result, profile=profile_frame,
                            segments=segment_mix(segmented, rules_used()))
