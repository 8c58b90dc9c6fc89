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
from .api import Analysis, analyze, clv_check, clv_summary, clv_table, history, migration, plan_campaign, rfm_table, usage_table
from .core.experiments import Assignment, assign, detectable_lift, readout, readout_table, sample_size, sample_sizes
from .core.plan import CampaignPlan
from .core.compare import GroupComparison, compare_groups
from .core.plan import retention_test_plan
from .core.clv import ClvModel, clv, fit_clv
from .core.clv_check import ClvCheck
from .core.migration import History, Migration
from .core.clustering import ClusterResult, choose_k, cluster
from .core.demo import demo_transactions
from .core.errors import ColumnError, DataError, RfmError
from .core.lapse import LapseThreshold, lapse_threshold
from .core.profiles import profile
from .sources.files import read_transactions
from .core.rfm import RfmResult
from .core.scoring import Binning, fit_binning, score, thresholds
from .core.segments import DEFAULT_SEGMENTS, segment

__all__ = [
    "__version__", "Analysis", "analyze", "ClusterResult", "choose_k", "cluster", "demo_transactions",
    "ColumnError", "DataError", "RfmError", "profile", "read_transactions", "rfm_table", "fit_binning",
    "score", "thresholds", "DEFAULT_SEGMENTS", "segment", "LapseThreshold", "lapse_threshold", "Binning",
    "RfmResult", "migration", "Migration", "history", "History", "clv_summary", "fit_clv", "ClvModel",
    "clv", "clv_check", "ClvCheck", "clv_table", "sample_size", "sample_sizes", "detectable_lift", "assign",
    "Assignment", "readout", "readout_table", "plan_campaign", "CampaignPlan", "compare_groups", "GroupComparison",
    "usage_table", "retention_test_plan",
]
