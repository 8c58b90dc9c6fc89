"""Build-time tools: the workbook template (``rfm-addin template``) with its VBA project, written
without Excel (:mod:`.ovba` compresses VBA source, :mod:`.cfb` writes the compound file)."""
