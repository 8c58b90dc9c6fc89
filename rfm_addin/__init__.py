"""rfm_addin: RFM scores, segments and K-Means clusters for Excel, Python and the command line.

The public API (names are a contract; the Excel layer and the CLI call only these)::

    import rfm_addin as rfm
    table = rfm.rfm_table(transactions)            # one row per customer: recency, frequency, monetary
    scored = rfm.score(table)                       # r/f/m scores 1..5, rfm_code, rfm_score
    segmented = rfm.segment(scored)                 # named segments (rfm.DEFAULT_SEGMENTS)
    result = rfm.cluster(table)                     # K-Means, k by the elbow method
    analysis = rfm.analyze(transactions)            # all of the above, plus profiles and insights
    analysis.to_excel("rfm.xlsx")
"""
from ._version import __version__
from .analysis import Analysis, analyze
from .clustering import ClusterResult, choose_k, cluster
from .demo import demo_transactions
from .errors import ColumnError, DataError, RfmError
from .lapse import LapseThreshold, lapse_threshold
from .profiles import profile
from .readers import read_transactions
from .rfm import rfm_table
from .scoring import fit_binning, score, thresholds
from .segments import DEFAULT_SEGMENTS, segment

__all__ = [
    "__version__", "Analysis", "analyze", "ClusterResult", "choose_k", "cluster", "demo_transactions",
    "ColumnError", "DataError", "RfmError", "profile", "read_transactions", "rfm_table", "fit_binning",
    "score", "thresholds", "DEFAULT_SEGMENTS", "segment", "LapseThreshold", "lapse_threshold",
]
