"""File writers: render the layout of :mod:`rfm_addin.writers.layout` into workbooks, safely."""
