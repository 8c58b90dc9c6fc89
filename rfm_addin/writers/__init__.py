"""File writers: render the layout of :mod:`rfm_addin.layout` into workbooks, safely."""
