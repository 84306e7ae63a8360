from op_db import Sample, randn
SAMPLES = {"exp": [Sample(lambda m, x: m.exp(x), (randn(3, 4),))]}
ERRORS = []
