#!/usr/bin/env python3
"""Peer for the multinomial and ordinal benchmark: statsmodels MNLogit or OrderedModel.
Usage: statsmodels_categorical.py FILE multinomial|ordinal"""
import sys

import pandas as pd
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel

data = pd.read_csv(sys.argv[1])
x = data[[f"x{k}" for k in range(1, 11)]]
if sys.argv[2] == "multinomial":
    fit = sm.MNLogit(pd.Categorical(data["y"]).codes, sm.add_constant(x)).fit(disp=0)
else:
    fit = OrderedModel(data["o"], x, distr="logit").fit(method="bfgs", disp=0, maxiter=1000)
print(fit.llf)
