"""The training tasks by name. A task adapter tells the generic training loop how to load its
data, move a batch, call the model's ``forward`` and score validation sets."""
from __future__ import annotations


def get_task(name: str):
    """The adapter of a registered task: recognition, detection or fullpage."""
    if name == "recognition":
        from ocr.engine.rec_task import RecognitionTask

        return RecognitionTask()
    if name == "detection":
        from ocr.engine.det_task import DetectionTask

        return DetectionTask()
    if name == "fullpage":
        from ocr.engine.page_task import FullPageTask

        return FullPageTask()
    raise ValueError(f"unknown task {name!r}; valid: recognition, detection, fullpage")
