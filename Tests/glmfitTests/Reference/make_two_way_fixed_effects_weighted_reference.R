# Usage: Rscript Tests/glmfitTests/Reference/make_two_way_fixed_effects_weighted_reference.R
#
# Writes two two-way panels whose weights span many orders of magnitude and R's glm on each:
#   two_way_fixed_effects_weighted.csv       200 firms; the reference levels (w000, the first firm) weight 1,
#                                            zero counts for the last 25 workers;
#   two_way_fixed_effects_light.csv          450 firms; the reference worker may have weight 1e-6 (the intercept
#                                            and every contrast with it are then determined by light rows:
#                                            cond(sqrt(W) X) ~ 1e6), zero counts for the first 25 workers;
# and two_way_fixed_effects_{weighted,light}_reference.txt beside them. 600 workers with 6 rows each (a move at
# the 4th row for some); a third of the workers have prior weight 1e-6, the others 1. y: gaussian; yc: Poisson
# counts (the zero-count workers' effects diverge: working weights shrink by e a step); yb: 0/1, all 0 for 25
# workers (R's glm does not converge on it, nor does glmfit: not fitted here; with ~4 rows a coefficient, many
# firms are separated too). One column is aliased per connected set of workers and firms beyond the first,
# whatever the weights: with weights of 1e-6 an exactly dependent column's remaining norm in R's QR is rounding
# near R's tolerance (the light panel's firmf073: 6e-12 of its norm, tolerance 1e-11).
#
# Printed per model as make_two_way_fixed_effects_reference.R: "## model", "# key: value" lines, then
# name<TAB>estimate<TAB>se (%.15g) per column, NA<TAB>NA for an aliased one.
panel <- function(name, firms, heavyReferences, zeroWorkers) {
  set.seed(20261207)
  workers <- 600; periods <- 6
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
  light <- runif(workers) < 1 / 3
  if (heavyReferences) {
    light[1] <- FALSE
    light[unique(wf[wf[, 2] == min(wf[, 2]), 1])] <- FALSE
  }
  wt <- ifelse(light[wf[, 1]], 1e-6, 1)
  workerEffect <- ((wf[, 1] - 1) %% 13) / 10
  firmEffect <- ((wf[, 2] - 1) %% 7) / 10
  y <- round(1 + 0.5 * x + workerEffect + firmEffect + runif(n), 3)
  lambda <- exp(-0.5 + x + workerEffect / 2 - firmEffect / 2)
  yc <- rpois(n, lambda)
  yc[wf[, 1] %in% zeroWorkers] <- 0
  yb <- as.integer(runif(n) < plogis(0.3 * x + workerEffect / 2 - firmEffect / 2))
  yb[wf[, 1] %in% zeroWorkers] <- 0
  file <- sprintf("Tests/glmfitTests/Reference/%s.csv", name)
  write.csv(data.frame(y = y, yc = yc, yb = yb, x = x, wt = wt, worker = worker, firm = firm), file,
            row.names = FALSE, quote = FALSE)
  data <- read.csv(file, stringsAsFactors = FALSE)
  models <- list(
    list(formula = "y ~ x + worker + firm", family = gaussian(), weights = TRUE),
    list(formula = "yc ~ x + worker + firm", family = poisson(), weights = FALSE),
    list(formula = "yc ~ worker + firm + x", family = poisson(), weights = TRUE)
  )
  out <- character()
  for (m in models) {
    fit <- if (m$weights) {
      glm(as.formula(m$formula), family = m$family, data = data, weights = wt)
    } else {
      glm(as.formula(m$formula), family = m$family, data = data)
    }
    s <- summary(fit)$coefficients
    out <- c(out, "## model", paste("# formula:", m$formula), paste("# family:", fit$family$family),
             paste("# weights:", if (m$weights) "wt" else "none"), paste("# rank:", fit$rank),
             sprintf("# deviance: %.15g", deviance(fit)), sprintf("# aic: %.15g", AIC(fit)),
             paste("# iterations:", fit$iter))
    co <- coef(fit)
    for (term in names(co)) {
      out <- c(out, if (is.na(co[[term]])) paste0(term, "\tNA\tNA")
                    else sprintf("%s\t%.15g\t%.15g", term, s[term, 1], s[term, 2]))
    }
  }
  writeLines(out, sprintf("Tests/glmfitTests/Reference/%s_reference.txt", name))
}
panel("two_way_fixed_effects_weighted", firms = 200, heavyReferences = TRUE, zeroWorkers = 576:600)
panel("two_way_fixed_effects_light", firms = 450, heavyReferences = FALSE, zeroWorkers = 1:25)
