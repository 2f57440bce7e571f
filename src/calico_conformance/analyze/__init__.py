"""``analyze``: judge pasted ``kubectl`` output with the matrix's own verdict engine.

Modules by input family (``objects`` for JSON/YAML, ``describe``, ``tables``,
``events_text``, ``text``, ``sniff`` for detection), ``engine`` (parsed objects to
observations to :func:`calico_conformance.verdict.judge`), ``signatures`` (what a verdict
means and which variants, lint rules and repros match), ``report`` and ``cli``.
"""
