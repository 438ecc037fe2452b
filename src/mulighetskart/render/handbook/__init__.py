"""The handbook target as a package: html, figures, page numbers, parts, pdf, join, and weasy (WeasyPrint internals)."""
