"""Text columns in Python storage, whatever is installed.

pandas 3 stores inferred text in pyarrow once pyarrow is installed (it is, for the Parquet
exports); the hub's pandera models (`str` is `StringDtype("python")`), its hashing and its
measured performance are Python storage's. Every package of the hub imports this first.
"""

import pandas as pd

pd.options.mode.string_storage = "python"
