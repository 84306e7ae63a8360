"""``python -m nerve``: the same as the ``nerve`` command."""

import sys

try:
    from nerve.cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: one line, not a traceback
    print("nerve: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
