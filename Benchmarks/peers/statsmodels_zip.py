"""statsmodels ZeroInflatedPoisson on the zip10 benchmark file: x1..x10 in both parts."""
import sys

import numpy as np
import pandas as pd
from statsmodels.discrete.count_model import ZeroInflatedPoisson

d = pd.read_csv(sys.argv[1])
x = np.column_stack([np.ones(len(d)), d[[f"x{k}" for k in range(1, 11)]].to_numpy()])
fit = ZeroInflatedPoisson(d["y"].to_numpy(), x, exog_infl=x, inflation="logit").fit(method="newton", maxiter=100, disp=False)
print(fit.llf)
