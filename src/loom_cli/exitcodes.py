"""Exit codes of the ``loom`` command.

====  ==============================================================
code  meaning
====  ==============================================================
0     success
1     the run failed, or was stopped (budget, loop, step limit)
2     usage or configuration error: bad arguments, malformed or invalid
      ``loom.toml``, unknown plugin, stage record or setting, unknown run
3     plugin error: a plugin failed to import or validate, or no
      installed plugin provides a stage the command needs (no store
      for ``loom runs`` / ``loom show``)
4     no provider available for ``loom run``
130   interrupted (Ctrl-C), or the run was cancelled
====  ==============================================================
"""

from __future__ import annotations

OK = 0
RUN_FAILED = 1
USAGE = 2
PLUGIN = 3
NO_PROVIDER = 4
INTERRUPTED = 130

#: The table shown at the end of ``loom --help``.
EPILOG = """exit codes:
  0    success
  1    the run failed, or was stopped (budget, loop, step limit)
  2    usage or configuration error (bad arguments, malformed or invalid
       loom.toml, unknown plugin, stage record or setting, unknown run)
  3    plugin error (a plugin failed to import or validate, or no installed
       plugin provides a needed stage, e.g. no store for `loom runs`)
  4    no provider available for `loom run` (try `loom run --demo`)
  130  interrupted (Ctrl-C), or the run was cancelled
"""
