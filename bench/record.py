#!/usr/bin/env python3
"""Adds result rows under a benchmark's section of docs/benchmarks.md, newest first.

usage: bench/record.py MARKER SECTION_HEADER ROWS
  MARKER          the section's anchor, e.g. "scheduler results"
  SECTION_HEADER  the Markdown written once, above the table, when the section does not exist yet
  ROWS            the table rows to add
"""
import os
import sys

marker, header, rows = sys.argv[1], sys.argv[2], sys.argv[3].strip() + "\n"
path = os.path.join(os.path.dirname(__file__), "..", "docs", "benchmarks.md")
text = open(path).read() if os.path.exists(path) else (
    "# Benchmarks\n\nEach benchmark compares Backstop with a baseline measured in the same run.\n")
anchor = "<!-- " + marker + " -->\n"
if anchor not in text:
    text += "\n" + header.rstrip("\n") + "\n" + anchor
text = text.replace(anchor, anchor + rows, 1)
open(path, "w").write(text)
print(rows, end="")
