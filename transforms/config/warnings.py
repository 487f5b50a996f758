"""What `check` warns about: a config that loads but cannot do what it is for. Warnings are no
errors (`check` exits 0; `check --strict` makes them fail): an empty config is how one starts,
and a local feed file may be written later.

- no feeds, or no rules: nothing would ever be alerted;
- a local feed file that does not exist: every poll would dead-letter it;
- a sink's ${ENV} reference to an unset variable, or a secret file that cannot be read, in a
  command that delivers nothing (it shows `<unset>`): `run` and `redeliver` would refuse to
  start until it is set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from wirewatch.transforms.config.models import _ENV_REF, Config
from wirewatch.transforms.errors import Problem

_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def config_warnings(config: Config, dropped: dict[str, set[str]]) -> list[Problem]:
    """An empty config, and local feed files that are not there (feeds left out for their own
    problems do not count as missing)."""
    src = config.source
    warnings = []
    for section, what in (("feeds", "nothing is polled"), ("rules", "nothing can match")):
        if not getattr(config, section) and section not in dropped:
            warnings.append(
                Problem(
                    src,
                    section,
                    f"no {section}: {what}, so no alert is ever sent",
                    f"add {section} (see the README's Config section, or `wirewatch init`)",
                )
            )
    for feed in config.feeds:
        if not _REMOTE.match(feed.url) and not Path(feed.url).exists():
            warnings.append(
                Problem(
                    src,
                    f"feeds[{feed.id}].url",
                    f"local feed file {feed.url} does not exist: every poll would fail",
                    "correct the path (relative to the config file) or create the file",
                )
            )
    return warnings


def unset_secrets(path: Path, raw: dict) -> list[Problem]:
    """Each sink value in `raw` that is an ${ENV} reference (without a default) to a variable
    that is not set, or a secret file (`token_file`) this user cannot read."""
    sinks = raw.get("sinks")
    warnings = []
    for name, sink in sinks.items() if isinstance(sinks, dict) else ():
        for key, value in sink.items() if isinstance(sink, dict) else ():
            if key.endswith("_file") and isinstance(value, str):
                secret = path.parent / value
                if not (secret.is_file() and os.access(secret, os.R_OK)):
                    warnings.append(
                        Problem(
                            str(path),
                            f"sinks.{name}.{key}",
                            f"cannot read {secret}: `run` and `redeliver` refuse to start "
                            "without it",
                            "point it at a file this user can read where wirewatch runs",
                        )
                    )
                continue
            ref = _ENV_REF.match(value.strip()) if isinstance(value, str) else None
            if ref and ref.group(2) is None and ref.group(1) not in os.environ:
                variable = ref.group(1)
                warnings.append(
                    Problem(
                        str(path),
                        f"sinks.{name}.{key}",
                        f"environment variable {variable} is not set: `run` and `redeliver` "
                        "refuse to start without it",
                        f"export {variable}=... where wirewatch runs",
                    )
                )
    return warnings
