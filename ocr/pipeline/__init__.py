"""The reading pipeline: inputs -> detection -> rectified crops -> recognition -> lines in order.

One concept per module: ``inputs`` (what to read), ``detect`` / ``recognize`` (batched model
calls), ``rectify`` (polygon -> upright crop), ``layout`` (words -> lines -> reading order),
``orientation`` (pages turned by 90/180/270 degrees), ``viz`` (drawing results).
"""
