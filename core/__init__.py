"""The leaf of mplt's layers: what every other package shares and nothing else.

* :mod:`core.types` -- :class:`Detections` / :class:`Tracks`, the one value type between stages.
* :mod:`core.errors` -- :class:`UserError`, the one user-error class (one line, exit code 2).
* :mod:`core.registry` -- name -> factory tables for the extension points.
* :mod:`core.config` -- the one loader/dumper of typed (frozen dataclass) configurations.
* :mod:`core.files` -- atomic writes; :mod:`core.notify` -- one-line notices on stderr.

``trackers/``, ``reid/`` and ``mplt/`` import it; it imports only numpy, PyYAML and the
standard library, never any of them.
"""
