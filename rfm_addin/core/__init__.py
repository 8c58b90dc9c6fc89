"""The core: computations on DataFrames (customer tables, scores, segments, clusters, profiles,
findings) and the :class:`~rfm_addin.core.analysis.Analysis` result. It imports neither engines,
file formats, writers nor Excel (``tests/test_architecture.py``); see ``docs/development.md``."""
