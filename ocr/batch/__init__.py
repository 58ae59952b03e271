"""``ocr batch``: read many images on Ray Data into sharded JSON Lines or Parquet, resumably.

Needs the ``batch`` extra (``pip install .[batch]``): Ray Data and pyarrow.
"""
