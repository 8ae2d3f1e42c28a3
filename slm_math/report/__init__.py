"""The report: the ablation table with paired tests (`table`), summary.md and the
accuracy-by-stage plot (`summary`), and comparisons across experiments (`compare`)."""
