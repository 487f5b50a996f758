"""Pipeline assembly, options and the `wirewatch` command line.

Every wirewatch process (the command, the worker zygote, a fresh Beam worker) starts in this
package, so this is where it declines httpx's own command-line client: httpx imports it when it
can (rich, click, pygments: a tenth of a second of CPU, more than httpx itself), and wirewatch
never runs it.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
