"""The jobs behind the user-facing commands: train, evaluate, predict, compare, demo.

Each module holds the logic of one command as plain functions returning fixed types; the command
line (``geolearn/cli/cmd_*.py``) only parses options and prints. Modules:

- :mod:`~geolearn.jobs.training` — open the splits of an experiment, train it, score its test split;
- :mod:`~geolearn.jobs.runs` — read a run directory back (config, label names, model weights);
- :mod:`~geolearn.jobs.evaluate` — metrics and confusion matrix of a run on any split;
- :mod:`~geolearn.jobs.predict` — class or per-face part labels of mesh files;
- :mod:`~geolearn.jobs.compare` — every chosen encoder and descriptor under one budget, one table;
- :mod:`~geolearn.jobs.demo` — the comparison on the embedded dataset, with its pictures;
- :mod:`~geolearn.jobs.report` — tables (markdown, text) and provenance (command, commit, time).

Importing this package is cheap: torch is imported by the functions that need it.
"""

from __future__ import annotations
