"""Which faces cut by the frame's edge the forgery detector judges: the model's metadata says (`crop.outside`)."""

from __future__ import annotations

import numpy as np

from impersonation_cli.forgery.crops import MAX_OUTSIDE_SHARE, judgeable, outside_share
from impersonation_cli.forgery.detector import ModelInput

METADATA = {"input": {"size": 224, "mean": [127.5] * 3, "std": [127.5] * 3}, "crop": {"widen": 1.3}}
# A 60-px face at the left edge of a 100 x 100 frame: a fifth of its box outside, more than a quarter of its crop.
CUT_FACE = np.array([[-12.0, 20.0, 48.0, 80.0]])


def test_a_model_without_an_edge_rule_judges_as_before() -> None:
    spec = ModelInput.from_metadata(METADATA)
    assert (spec.outside_widen, spec.max_outside) == (1.3, MAX_OUTSIDE_SHARE)
    assert outside_share(CUT_FACE[0], 1.3, 100, 100) > MAX_OUTSIDE_SHARE
    assert not judgeable(CUT_FACE, spec.outside_widen, 48, 100, 100, spec.max_outside)[0]


def test_a_model_trained_on_cut_faces_judges_by_the_box() -> None:
    rule = {"measured_at_widen": 1.0, "max_share": 0.25}
    spec = ModelInput.from_metadata(METADATA | {"crop": {"widen": 1.3, "outside": rule}})
    assert (spec.widen, spec.outside_widen, spec.max_outside) == (1.3, 1.0, 0.25)
    assert judgeable(CUT_FACE, spec.outside_widen, 48, 100, 100, spec.max_outside)[0]
    further = CUT_FACE - np.array([10.0, 0.0, 10.0, 0.0])  # 22 px of 60 outside
    assert not judgeable(further, spec.outside_widen, 48, 100, 100, spec.max_outside)[0]
    assert not judgeable(CUT_FACE, spec.outside_widen, 61, 100, 100, spec.max_outside)[0], "smaller than min_face_px"
