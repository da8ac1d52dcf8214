"""Tests of the qbXML layer (service/qbxml)."""
