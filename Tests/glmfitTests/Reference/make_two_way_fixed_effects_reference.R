# Usage: Rscript Tests/glmfitTests/Reference/make_two_way_fixed_effects_reference.R > Tests/glmfitTests/Reference/two_way_fixed_effects_reference.txt
#
# R's glm on a small two-way fixed-effects panel (two_way_fixed_effects.csv: 500 workers with 6 rows each,
# 400 firms of which those seen are levels, a move between firms at the 4th row for some workers;
# Poisson counts from 0.5 + 0.3 x1 - 0.2 x2 + worker effect + firm effect). The workers and firms fall
# into many connected sets, so each set beyond the first aliases one column: R's in-order rule picks the
# last column of each dependency. glmfit solves such a model as sparse when the factors have many levels
# (GLMCore/Model/SparseBlockSolver.swift); the tests force that path on this file.
#
# Printed per model: "## model" line, "# key: value" header lines, then one line per column of the model
# matrix in its order: name<TAB>estimate<TAB>se (%.15g), or name<TAB>NA<TAB>NA for an aliased column.
data <- read.csv("Tests/glmfitTests/Reference/two_way_fixed_effects.csv", stringsAsFactors = FALSE)
models <- list(
  list(formula = "y ~ x1 + x2 + worker + firm", family = poisson()),
  list(formula = "y ~ firm + x1 + worker", family = poisson()),
  list(formula = "log1p(y) ~ worker + firm + x2", family = gaussian())
)
for (m in models) {
  fit <- glm(as.formula(m$formula), family = m$family, data = data)
  s <- summary(fit)$coefficients
  cat("## model\n")
  cat("# formula:", m$formula, "\n")
  cat("# family:", fit$family$family, "\n")
  cat("# rank:", fit$rank, "\n")
  cat(sprintf("# deviance: %.15g\n", deviance(fit)))
  cat(sprintf("# aic: %.15g\n", AIC(fit)))
  cat("# iterations:", fit$iter, "\n")
  co <- coef(fit)
  for (name in names(co)) {
    if (is.na(co[[name]])) {
      cat(name, "\tNA\tNA\n", sep = "")
    } else {
      cat(sprintf("%s\t%.15g\t%.15g\n", name, s[name, 1], s[name, 2]))
    }
  }
}
