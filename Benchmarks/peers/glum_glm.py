"""Peer: pandas.read_csv and glum without penalty. Usage: glum_glm.py FILE FAMILY"""
import sys
import pandas as pd
from glum import GeneralizedLinearRegressor

path, family = sys.argv[1], sys.argv[2]
d = pd.read_csv(path)
for column in d.columns:
    if d[column].dtype == object:
        d[column] = d[column].astype("category")
formula = "y ~ " + " + ".join(c for c in d.columns if c != "y")
glum_family = {"gamma": "gamma", "poisson": "poisson", "binomial": "binomial", "gaussian": "normal"}[family]
link = "log" if family == "gamma" else "auto"
model = GeneralizedLinearRegressor(family=glum_family, link=link, alpha=0, formula=formula, drop_first=True)
model.fit(d)
print(model.intercept_)
