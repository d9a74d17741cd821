# Usage: Rscript Tests/glmfitTests/Reference/make_two_way_fixed_effects_weighted_reference.R > Tests/glmfitTests/Reference/two_way_fixed_effects_weighted_reference.txt
#
# Writes Tests/glmfitTests/Reference/two_way_fixed_effects_weighted.csv, a two-way panel whose weights
# span many orders of magnitude, and prints R's glm on it. 600 workers with 6 rows each among 200 firms
# (a move at the 4th row for some); a third of the workers have prior weight 1e-6, the others 1.
# yc: Poisson counts, zero for the last 25 workers (their effects diverge: working weights shrink by e a step);
# yb: 0/1, all 0 for the last 25 workers (R's glm does not converge on it, nor does glmfit: it is not fitted
# here; with ~4 rows a coefficient, many firms are separated too). Sparse solves of such equations must find the aliased
# columns (one per connected set of workers and firms beyond the first) as R's QR does, whatever the weights.
#
# Printed per model as make_two_way_fixed_effects_reference.R: "## model", "# key: value" lines, then
# name<TAB>estimate<TAB>se (%.15g) per column, NA<TAB>NA for an aliased one.
set.seed(20261207)
workers <- 600; firms <- 200; periods <- 6
rows <- list()
for (w in seq_len(workers)) {
  f <- sample.int(firms, 1)
  for (t in seq_len(periods)) {
    if (t == 4 && runif(1) < 0.6) f <- (f + sample.int(25, 1)) %% firms + 1
    rows[[length(rows) + 1]] <- c(w, f)
  }
}
wf <- do.call(rbind, rows)
n <- nrow(wf)
worker <- sprintf("w%03d", wf[, 1] - 1)
firm <- sprintf("f%03d", wf[, 2] - 1)
x <- round(runif(n), 3)
# The reference levels (w000 and the first firm) keep weight 1: with a light one, the intercept and
# every contrast with it would be determined by the light rows alone.
light <- runif(workers) < 1 / 3
light[1] <- FALSE
light[unique(wf[wf[, 2] == min(wf[, 2]), 1])] <- FALSE
wt <- ifelse(light[wf[, 1]], 1e-6, 1)
workerEffect <- ((wf[, 1] - 1) %% 13) / 10
firmEffect <- ((wf[, 2] - 1) %% 7) / 10
y <- round(1 + 0.5 * x + workerEffect + firmEffect + runif(n), 3)
lambda <- exp(-0.5 + x + workerEffect / 2 - firmEffect / 2)
yc <- rpois(n, lambda)
yc[wf[, 1] > workers - 25] <- 0
yb <- as.integer(runif(n) < plogis(0.3 * x + workerEffect / 2 - firmEffect / 2))
yb[wf[, 1] > workers - 25] <- 0
data <- data.frame(y = y, yc = yc, yb = yb, x = x, wt = wt, worker = worker, firm = firm)
write.csv(data, "Tests/glmfitTests/Reference/two_way_fixed_effects_weighted.csv", row.names = FALSE, quote = FALSE)
data <- read.csv("Tests/glmfitTests/Reference/two_way_fixed_effects_weighted.csv", stringsAsFactors = FALSE)
models <- list(
  list(formula = "y ~ x + worker + firm", family = gaussian(), weights = TRUE),
  list(formula = "yc ~ x + worker + firm", family = poisson(), weights = FALSE),
  list(formula = "yc ~ worker + firm + x", family = poisson(), weights = TRUE)
)
for (m in models) {
  fit <- if (m$weights) {
    glm(as.formula(m$formula), family = m$family, data = data, weights = wt)
  } else {
    glm(as.formula(m$formula), family = m$family, data = data)
  }
  s <- summary(fit)$coefficients
  cat("## model\n")
  cat("# formula:", m$formula, "\n")
  cat("# family:", fit$family$family, "\n")
  cat("# weights:", if (m$weights) "wt" else "none", "\n")
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
