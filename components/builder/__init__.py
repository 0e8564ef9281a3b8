"""The cohort builder: page, state, widgets, rendering, results and file handling."""
