"""Beam's `PipelineOptions.view_as`, answered once per options object and view class.

Why: Beam asks the pipeline's options for a view (`view_as(TypeOptions)`, `StandardOptions`,
...) each time it applies a transform or infers a type: about 250 times while a cycle's graph
is built. Every view builds an argparse parser of its class's options and parses the flags
again, and each parser looks its messages' translations up on disk (gettext). That was
0.14-0.26 s of the 0.19-0.35 s a cycle's graph took to build, in the driver, before the first
stage, whatever the number of workers. A view keeps nothing of its own but what it parsed from
the flags, which never change, and reads and writes its values in the options object's shared
dict (Beam's own docstring: "modifications of values in any view-object will apply to current
object and other view-objects"), so the first view of a class can serve every later ask.
"""

from __future__ import annotations

import threading
import weakref

_lock = threading.Lock()


def remember_option_views() -> None:
    """Install the memo in this process (idempotent)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    view_as = PipelineOptions.view_as
    if getattr(view_as, "remembered", False):
        return
    views: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # options -> {class: view}

    def remembered_view_as(self, cls):
        with _lock:
            known = views.get(self, {}).get(cls)
        if known is None:
            known = view_as(self, cls)
            with _lock:
                views.setdefault(self, {})[cls] = known
        return known

    remembered_view_as.remembered = True
    remembered_view_as.__doc__ = view_as.__doc__
    PipelineOptions.view_as = remembered_view_as
