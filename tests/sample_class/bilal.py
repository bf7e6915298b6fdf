"""Blank: opened the notebook and submitted it without writing anything."""
# base: release
