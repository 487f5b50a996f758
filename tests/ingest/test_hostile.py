"""Hostile XML finishes in bounded time and memory and never leaks local files.

Each case runs through both paths (full parse, and the pre-scan with seen_of), because the
pre-scan uses a different parser (lxml) than feedparser (expat, then sgmllib). All cases run
in one child process with a 2 GiB address-space limit, so a blowup cannot take the machine
down, and each case's growth of the peak RSS is measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SECRET = "TOP-SECRET-7f3a9c"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
from wirewatch.transforms.ingest.parse import parse_feed
report = {}
for path in sys.argv[1:]:
    body = open(path, "rb").read()
    for fast in (False, True):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        result = parse_feed(body, feed_id="h", feed_url="https://h.example.com/feed",
                            seen_of=(lambda _: set()) if fast else None)
        took = time.monotonic() - started
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        report[f"{path}|{fast}"] = {"took": took, "grown_kb": grown,
                                    "dump": result.model_dump_json()}
print(json.dumps(report))
"""
"""One child runs every case (both paths) under a 2 GiB address-space limit; ru_maxrss growth
per case bounds its peak memory above everything before it."""


def _laughs() -> bytes:
    levels = [b'<!ENTITY lol0 "lol">'] + [
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10)
    ]
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [' + b"\n".join(levels) + b"]>\n"
        b'<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
        b"<description>&lol9;&lol9;</description><guid>l</guid></item></channel></rss>"
    )


def _quadratic() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "' + b"A" * 50_000 + b'">]>'
        b'<rss version="2.0"><channel><title>t</title><item><title>q</title><description>'
        + b"&a;" * 20_000
        + b"</description><guid>q</guid></item></channel></rss>"
    )


def _external(path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://'
        + str(path).encode()
        + b'">]><rss version="2.0"><channel><title>t</title>'
        b"<item><title>x &xxe; y</title><description>&xxe;</description><guid>g</guid>"
        b"</item></channel></rss>"
    )


def _external_dtd(path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "file://'
        + str(path).encode()
        + b'"><rss version="2.0"><channel><title>t</title><item><title>x &secret; y'
        b"</title><guid>g</guid></item></channel></rss>"
    )


def _parameter_entity(path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY % p SYSTEM "file://'
        + str(path).encode()
        + b'"> %p;]><rss version="2.0"><channel><title>t</title>'
        b"<item><title>x</title><guid>g</guid></item></channel></rss>"
    )


def _xinclude(path) -> bytes:
    return (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<channel><title>t</title><item><title>x</title><description><xi:include href="file://'
        + str(path).encode()
        + b'" parse="text"/></description><guid>g</guid></item>'
        b"</channel></rss>"
    )


def _late_doctype() -> bytes:
    """A DOCTYPE after the root start: the lenient parser must not honour it either."""
    return (
        b'<?xml version="1.0"?><rss version="2.0"><!DOCTYPE x [<!ENTITY b "'
        + b"B" * 10_000
        + b'">]><channel><title>t</title><item><title>'
        + b"&b;" * 10_000
        + b"</title><guid>d</guid></item></channel></rss>"
    )


CASES = {
    "billion_laughs": lambda p: _laughs(),
    "quadratic_blowup": lambda p: _quadratic(),
    "external_entity": _external,
    "external_dtd": _external_dtd,
    "parameter_entity": _parameter_entity,
    "xinclude": _xinclude,
    "late_doctype": lambda p: _late_doctype(),
}


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory):
    """Run every case once, in one child process; the tests below check its report."""
    folder = tmp_path_factory.mktemp("hostile")
    secret = folder / "passwd"
    secret.write_text(SECRET)
    paths = []
    for name, make in sorted(CASES.items()):
        path = folder / f"{name}.xml"
        path.write_bytes(make(secret))
        paths.append(str(path))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *paths],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert child.returncode == 0, child.stderr[-2000:]
    return folder, json.loads(child.stdout)


@pytest.mark.parametrize("fast", [False, True], ids=["full", "prescan"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_xml_is_bounded_and_leaks_nothing(case, fast, hostile_runs):
    folder, runs = hostile_runs
    body_size = (folder / f"{case}.xml").stat().st_size
    report = runs[f"{folder / case}.xml|{fast}"]
    assert report["took"] < 5, f"{case} took {report['took']:.1f} s"
    assert report["grown_kb"] < 200 * 1024, f"{case} grew RSS by {report['grown_kb']} KiB"
    dumped = report["dump"]
    assert "parser_error" not in dumped  # no MemoryError or bug behind a dead letter
    assert SECRET not in dumped
    assert "lollollollollol" not in dumped  # entities were never expanded
    assert len(dumped) < 4 * body_size + 10_000
    assert '"articles":[{' in dumped or '"dead_letters":[{' in dumped
