"""Distillation from our own recognizer (``distill_from``): the KL term, its effect, its errors, and
exact resumption with a teacher."""
import csv

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ocr.data.rec_transforms import pad_for_reading, resize_crop, to_array, trailing_grey
from ocr.engine.distill import Teacher
from ocr.engine.trainer import Trainer
from tests.helpers import text_image
from tests.test_trainer import WORDS, _cfg


@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("teacher")
    Trainer(_cfg(tmp, "t", steps=30), device="cpu").fit()
    return tmp / "t" / "last.safetensors"


def _student(tmp_path, out, teacher, steps, **kw):
    return Trainer(_cfg(tmp_path, out, steps, distill_from=str(teacher), **kw), device="cpu")


def _kl_on_batch(trainer: Trainer) -> float:
    """The distillation term of the student against its teacher on the training words, rendered
    with other colours than the store's, in eval mode."""
    crops = [cv2.imdecode(np.frombuffer(text_image(w, seed=100 + i), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
             for i, w in enumerate(WORDS)]
    arrays = [to_array(resize_crop(c, 32, 128)) for c in crops]
    batch, widths = pad_for_reading(arrays, trailing_grey(trainer.model), edge=1.0)
    images = torch.from_numpy(batch)
    trainer.model.eval()
    with torch.no_grad():
        mine = trainer.model(images, widths=widths)
        theirs = trainer.teacher.logits(images, {"widths": widths})
        return float(trainer.teacher.loss(mine, theirs, [a.shape[2] for a in arrays]))


def test_kl_is_zero_for_the_teacher_itself_and_positive_otherwise(tmp_path, teacher_file):
    same = _student(tmp_path, "same", teacher_file, steps=1, init_from=str(teacher_file))
    other = _student(tmp_path, "other", teacher_file, steps=1)
    assert _kl_on_batch(same) == pytest.approx(0.0, abs=1e-5)
    assert _kl_on_batch(other) > 0.01


def _distill_logged(path) -> list[float]:
    return [float(r["distill"]) for r in csv.DictReader(open(path / "train_log.csv"))]


def test_distillation_pulls_a_smaller_student_towards_the_teacher(tmp_path, teacher_file):
    """Two smaller students, same seed and batches: with the term weighted 50 and 0.001 (logged, not
    taught). The taught one ends much closer to the teacher on the batches it trains on."""
    small = {"model_args": {"charset": "lower36", "hidden": 16, "num_layers": 1, "max_width": 128}, "log_every": 3}
    _student(tmp_path, "taught", teacher_file, steps=24, distill_weight=50.0, **small).fit()
    _student(tmp_path, "alone", teacher_file, steps=24, distill_weight=0.001, **small).fit()
    taught, alone = _distill_logged(tmp_path / "taught"), _distill_logged(tmp_path / "alone")
    assert len(taught) == len(alone) == 8
    assert taught[-1] < taught[0] / 5
    assert np.mean(taught[-2:]) < 0.75 * np.mean(alone[-2:])


def test_a_teacher_that_reads_another_charset_is_refused(tmp_path, teacher_file):
    with pytest.raises(ValueError, match="charset") as e:
        _student(tmp_path, "s", teacher_file, steps=1,
                 model_args={"charset": "ascii95", "hidden": 32, "num_layers": 1, "max_width": 128})
    assert str(teacher_file) in str(e.value)
    with pytest.raises(ValueError, match="temperature"):
        _student(tmp_path, "t", teacher_file, steps=1, distill_temperature=0.0)


def test_training_with_a_teacher_resumes_exactly(tmp_path, teacher_file):
    full = _student(tmp_path, "full", teacher_file, steps=6)
    full.fit()
    _student(tmp_path, "part", teacher_file, steps=6).fit(until=3)
    resumed = _student(tmp_path, "part", teacher_file, steps=6)
    assert resumed.resume() and resumed.step == 3
    resumed.fit()
    a = load_file(str(tmp_path / "full" / "last.safetensors"))
    b = load_file(str(tmp_path / "part" / "last.safetensors"))
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_teacher_loss_counts_only_the_crops_frames():
    teacher = Teacher.__new__(Teacher)  # the loss alone: frames past each crop must not count

    class Frames:
        @staticmethod
        def frame_lengths(widths, frames):
            return [min(frames, w // 4) for w in widths]

    teacher.model, teacher.temperature, teacher.path = Frames(), 1.0, "t"
    student = torch.zeros(2, 6, 5)
    taught = torch.zeros(2, 6, 5)
    taught[:, 4:, 0] = 9.0  # the teacher disagrees only past 16 columns
    assert float(teacher.loss(student, taught, [16, 16])) == pytest.approx(0.0, abs=1e-6)
    assert float(teacher.loss(student, taught, [24, 16])) > 0.1
