"""``ocr serve``: an HTTP service (FastAPI + uvicorn) and a web page for reading images.

Needs the ``serve`` extra (``pip install .[serve]``).
"""
