"""Evaluation on labelled cases and the speed benchmark."""
