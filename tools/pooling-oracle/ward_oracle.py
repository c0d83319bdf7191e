"""Golden values for TokenPooling: the token pooling PyLate runs (scipy Ward linkage on 1 - cosine, fcluster maxclust,
cluster means), computed with numpy/scipy on seeded random token vectors. Writes
src/test/resources/pooling/ward-scipy.json. Run: python3 tools/pooling-oracle/ward_oracle.py (numpy, scipy)."""
import json
import pathlib

import numpy as np
import scipy
from scipy.cluster import hierarchy

cases = []
rng = np.random.default_rng(20261122)
for n, dims, factor, duplicates in [(5, 8, 2, 0), (12, 16, 3, 4), (40, 16, 2, 10), (40, 32, 4, 0), (97, 24, 3, 30), (7, 4, 7, 0)]:
    x = rng.standard_normal((n, dims))
    # near-duplicate tokens: copies of earlier rows with a little noise, as repeated words give
    for i in range(duplicates):
        x[n - 1 - i] = x[i] + 0.05 * rng.standard_normal(dims)
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    sim = x.astype(np.float64) @ x.astype(np.float64).T
    condensed = (1 - sim)[np.triu_indices(n, k=1)]
    clusters = max(n // factor, 1)
    labels = hierarchy.fcluster(hierarchy.linkage(condensed, method="ward"), t=clusters, criterion="maxclust")
    means = [x[labels == c].astype(np.float64).mean(axis=0).tolist() for c in sorted(set(labels))]
    cases.append({"factor": factor, "clusters": clusters, "vectors": x.tolist(), "labels": labels.tolist(), "means": means})

out = pathlib.Path(__file__).resolve().parents[2] / "src/test/resources/pooling/ward-scipy.json"
out.write_text(json.dumps({"generator": "tools/pooling-oracle/ward_oracle.py", "numpy": np.__version__, "scipy": scipy.__version__,
                           "cases": cases}))
print(out, [len(set(c["labels"])) for c in cases], [c["clusters"] for c in cases])
