"""The Excel layer of rfm_addin: xlwings worksheet functions and ribbon macros.

- :mod:`rfm_addin.excel.udfs`: worksheet functions (``RFM_TABLE``, ``RFM_SCORE``...).
- :mod:`rfm_addin.excel.macros`: ribbon macros (``analyze_sheet``, ``cluster_sheet``,
  ``ribbon``).
- :mod:`rfm_addin.excel.convert`: xlwings values to core inputs and back.
- :mod:`rfm_addin.excel.settings`: the "RFM Settings" sheet.
- :mod:`rfm_addin.excel.live_writer`: renders :mod:`rfm_addin.writers.layout` into a workbook.

Nothing here analyses data; the core does. Importing this package does not import
xlwings (the submodules do), and nothing here needs an xlwings license key.
"""
