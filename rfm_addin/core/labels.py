"""The vocabulary of the results: each known column's header label and format kind.

One table for the core (which must keep a user's columns from clashing with result columns,
by name and by label) and for every writer (headers and number formats).
"""
from __future__ import annotations

#: Header label and format kind of each known column; unknown columns are shown as named.
COLUMNS: dict[str, tuple[str, str]] = {
    "recency": ("Recency (days)", "days"),
    "frequency": ("Frequency", "int"),
    "monetary": ("Monetary", "money"),
    "first_purchase": ("First purchase", "date"),
    "last_purchase": ("Last purchase", "date"),
    "avg_order_value": ("Avg order value", "money"),
    "r_score": ("R score", "score"),
    "f_score": ("F score", "score"),
    "m_score": ("M score", "score"),
    "rfm_code": ("RFM code", "text"),
    "rfm_score": ("RFM score", "decimal"),
    "segment": ("Segment", "text"),
    "cluster": ("Cluster", "int"),
    "cluster_name": ("Cluster name", "text"),
    "customers": ("Customers", "int"),
    "customer_share": ("Share of customers", "share"),
    "recency_mean": ("Mean recency (days)", "decimal"),
    "recency_median": ("Median recency (days)", "decimal"),
    "frequency_mean": ("Mean frequency", "decimal"),
    "frequency_median": ("Median frequency", "decimal"),
    "monetary_mean": ("Mean monetary", "money"),
    "monetary_median": ("Median monetary", "money"),
    "revenue": ("Revenue", "money"),
    "revenue_share": ("Share of revenue", "share"),
    "description": ("Description", "text"),
    "action": ("Recommended action", "text"),
    "ranges": ("In this analysis", "text"),
    "stability": ("Stability", "text"),
    "jaccard": ("Stability (Jaccard)", "decimal"),
    "metric": ("Metric", "text"),
    "score": ("Score", "score"),
    "min": ("From", "decimal"),
    "max": ("To", "decimal"),
    "meaning": ("Meaning", "text"),
    "k": ("k", "int"),
    "inertia": ("Inertia", "decimal"),
    "silhouette": ("Silhouette", "decimal"),
    "chosen": ("Chosen", "general"),
    "check": ("Check", "text"),
    "count": ("Count", "int"),
    "unit": ("Unit", "text"),
    "amount": ("Amount", "money"),
    "treatment": ("Treatment", "text"),
    "finding": ("Finding", "text"),
    "number": ("No.", "int"),
    "parameter": ("Parameter", "text"),
    "value": ("Value", "general"),
    "top20_share": ("Top 20% share", "share"),
    "as_of": ("As of", "date"),
    "clusters": ("Clusters", "int"),
    "chosen_inertia": ("Chosen k", "decimal"),
    "customer_share_cum": ("Share of customers (best first)", "share"),
    "revenue_share_cum": ("Share of revenue", "share"),
    "equal_share": ("If everyone spent the same", "share"),
}

#: The result columns of a customer table (``Analysis.customers``), after the customer id.
CUSTOMER_RESULT_COLUMNS = ("recency", "frequency", "monetary", "first_purchase", "last_purchase",
                           "avg_order_value", "r_score", "f_score", "m_score", "rfm_code", "rfm_score",
                           "segment", "cluster", "cluster_name")


def reserved_names(columns: tuple[str, ...] = CUSTOMER_RESULT_COLUMNS) -> set[str]:
    """The names and labels of ``columns``, case-folded: what a user's column must not be called."""
    return {c.casefold() for c in columns} | {COLUMNS[c][0].casefold() for c in columns if c in COLUMNS}
