"""Input pipelines (tf.data's API): ``engine.data.Dataset`` and file readers.

```python
ds = (engine.data.Dataset.from_tensor_slices((x, y))
      .shuffle(1000, seed=0)
      .map(augment, num_parallel_calls=engine.data.AUTOTUNE)
      .batch(32)
      .prefetch(engine.data.AUTOTUNE))
model.fit(ds, epochs=5)
```

Elements are numpy arrays (nested in tuples and dicts). ``fit``, ``evaluate`` and
``predict`` take a Dataset, or any iterable of batches (a PyTorch DataLoader, a Keras
PyDataset-like object with ``__getitem__`` and ``__len__``).
"""
from engine.data import experimental
from engine.data.dataset import AUTOTUNE, INFINITE, UNKNOWN, Dataset, TensorSpec
from engine.data.readers import CsvDataset, TextLineDataset, make_csv_dataset

__all__ = ["AUTOTUNE", "CsvDataset", "Dataset", "INFINITE", "TensorSpec", "TextLineDataset", "UNKNOWN",
           "experimental", "make_csv_dataset"]
