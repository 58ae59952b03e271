"""Model families. ``ocr.registry`` imports each family module listed in ``FAMILIES`` so that
their factories register; importing this package alone loads nothing heavy."""

FAMILIES = ("ocr.models.recognition.ctc", "ocr.models.recognition.cppd",
            "ocr.models.recognition.lister", "ocr.models.detection.fcenet",
            "ocr.models.fullpage.trocr")
