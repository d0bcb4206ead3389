"""The trained face-forgery detector: a network fine-tuned on self-blended and effect-edited real faces
(scripts/train_detector.py), run on ONNX Runtime. torch is a training extra only; nothing here imports it."""

from impersonation_cli.forgery.detector import ForgeryDetector, ForgeryScores

__all__ = ["ForgeryDetector", "ForgeryScores"]
