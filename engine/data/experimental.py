"""tf.data.experimental's names for the CSV readers and AUTOTUNE."""
from engine.data.dataset import AUTOTUNE, INFINITE, UNKNOWN
from engine.data.readers import CsvDataset, make_csv_dataset

INFINITE_CARDINALITY = INFINITE
UNKNOWN_CARDINALITY = UNKNOWN

__all__ = ["AUTOTUNE", "CsvDataset", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "make_csv_dataset"]
