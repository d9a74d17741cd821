"""Peer: pandas.read_csv and statsmodels' formula GLM. Usage: statsmodels_glm.py FILE FAMILY"""
import sys
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

path, family = sys.argv[1], sys.argv[2]
d = pd.read_csv(path)
families = {"poisson": sm.families.Poisson(), "binomial": sm.families.Binomial(),
            "gamma": sm.families.Gamma(sm.families.links.Log()), "gaussian": sm.families.Gaussian()}
formula = "y ~ " + " + ".join(c for c in d.columns if c != "y")
fit = smf.glm(formula, d, family=families[family]).fit()
print(fit.params.iloc[0])
