"""Peer: pandas.read_csv and glum without penalty. Usage: glum_glm.py FILE FAMILY [FORMULA [COEFS.json]]

FORMULA defaults to y on every other column. Text columns become pandas categoricals, which
glum (through tabmat) keeps as categorical matrices, treatment-coded (drop_first) with R's term
names (f + level). COEFS.json, when given, receives {term: estimate}, "(Intercept)" included.
GLUM_GRADIENT_TOL, when set, replaces glum's default convergence tolerance (1e-4 on the
gradient for its IRLS solvers), for an untimed run whose coefficients are compared.
"""
import json
import os
import sys
import pandas as pd
from glum import GeneralizedLinearRegressor

path, family = sys.argv[1], sys.argv[2]
d = pd.read_csv(path)
for column in d.columns:
    # pandas 3 reads text as its string dtype, not object: anything not numeric is a factor.
    if not pd.api.types.is_numeric_dtype(d[column]):
        d[column] = d[column].astype("category")
formula = sys.argv[3] if len(sys.argv) > 3 else "y ~ " + " + ".join(c for c in d.columns if c != "y")
glum_family = {"gamma": "gamma", "poisson": "poisson", "binomial": "binomial", "gaussian": "normal"}[family]
link = "log" if family == "gamma" else "auto"
model = GeneralizedLinearRegressor(family=glum_family, link=link, alpha=0, formula=formula, drop_first=True,
                                   categorical_format="{name}{category}",
                                   gradient_tol=float(os.environ["GLUM_GRADIENT_TOL"]) if "GLUM_GRADIENT_TOL" in os.environ else None)
model.fit(d)
print(model.intercept_)
if len(sys.argv) > 4:
    coefficients = {"(Intercept)": float(model.intercept_)}
    coefficients.update(zip(model.feature_names_, map(float, model.coef_)))
    with open(sys.argv[4], "w") as out:
        json.dump(coefficients, out)
