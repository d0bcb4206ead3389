"""A watch without --fps samples at the config's `[scan] fps`, but never above watch's own cap: a config made
for recordings (`[scan] fps = 60`) made every live room decode and judge 60 frames a second."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from impersonation_cli.api import watch_settings
from impersonation_cli.config import load_config
from impersonation_cli.errors import MAX_WATCH_FPS, MIN_WATCH_FPS
from impersonation_cli.gallery.store import GalleryIndex
from impersonation_cli.outputs.alerts import AlertSink
from impersonation_cli.pipeline.faces import EMBEDDING_DIM
from impersonation_cli.pipeline.scan import ScanContext
from impersonation_cli.pipeline.watch import Watcher


@pytest.mark.parametrize(
    ("configured", "watched"),
    # A config may ask for any rate above 0: 0.0005 was refused by the watch as "fps must be between 0 and 30
    # (at least 0.001)", an option the user had not given.
    [(2.0, 2.0), (30.0, 30.0), (60.0, MAX_WATCH_FPS), (0.0005, MIN_WATCH_FPS)],
)
def test_the_configured_rate_is_brought_into_the_live_range(configured: float, watched: float) -> None:
    config = load_config(None)
    config = dataclasses.replace(config, scan=dataclasses.replace(config.scan, fps=configured))
    nobody = GalleryIndex((), np.zeros(0, dtype=np.int64), np.zeros((0, EMBEDDING_DIM), np.float32), None)
    # No room and no frame: the watcher is built, never run, so it needs no models.
    context = ScanContext(engine=None, index=nobody, config=config)  # type: ignore[arg-type]
    settings = watch_settings(None, "10s", "60s", None, "15s", "10m")
    watcher = Watcher([], context, settings, AlertSink(None, None, 600.0))
    assert watcher.settings.reader.fps == watched
