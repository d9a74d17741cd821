#!/usr/bin/env Rscript
# Reference numbers for glmfit's multinomial (nnet::multinom) and ordinal
# (MASS::polr) model kinds, fitted to the CSV files under Examples/ as glmfit
# reads them (text columns as factors with levels in C collation order; a
# numeric response as factor(y)).
#
# Writes, next to this script: multinomial_reference.json, and the new data
# for predictions under multinomial_data/.
#
# Usage (from anywhere):  Rscript Tests/GLMCoreTests/Reference/make_multinomial_reference.R
#
# R's optimisers run with tight tolerances (reltol = 1e-15, maxit = 1000,
# Hess = TRUE); their standard errors come from numerically differentiated
# Hessians (optimHess), so they agree with glmfit's analytic ones to about 1e-5;
# for polr, whose optimHess steps are coarse, the standard errors recorded are from
# numDeriv's Hessian of the log-likelihood (polr's own are kept as polr_std_error).

suppressPackageStartupMessages({
  library(MASS)
  library(nnet)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))
datadir <- file.path(refdir, "multinomial_data")
dir.create(datadir, showWarnings = FALSE)

read_example <- function(file) {
  read.csv(file.path(root, "Examples", file), stringsAsFactors = TRUE)
}

## New rows (not in any fit) for predict(type = "probs").
birthwt_new <- data.frame(age = c(16, 22, 27, 35, 41, 19), lwt = c(95, 120, 150, 210, 130, 260),
                          smoke = c(0, 1, 0, 1, 1, 0))
write.csv(birthwt_new, file.path(datadir, "birthwt_new.csv"), row.names = FALSE)
housing_new <- data.frame(Infl = c("Low", "High", "Medium", "High"),
                          Type = c("Tower", "Atrium", "Terrace", "Apartment"),
                          Cont = c("High", "Low", "High", "High"))
write.csv(housing_new, file.path(datadir, "housing_new.csv"), row.names = FALSE)
fgl_new <- data.frame(RI = c(-1.5, 0.3, 4.2), Na = c(12.9, 13.6, 14.4), Mg = c(3.5, 0.2, 2.1),
                      Al = c(1.2, 2.3, 1.6))
write.csv(fgl_new, file.path(datadir, "fgl_new.csv"), row.names = FALSE)

cases <- list()

multinom_case <- function(name, file, formula, rformula, weights = NULL, newdata = NULL) {
  d <- read_example(file)
  fit <- if (is.null(weights))
    multinom(as.formula(rformula), data = d, Hess = TRUE, reltol = 1e-15, maxit = 1000, trace = FALSE)
  else {
    d$.w <- d[[weights]]
    multinom(as.formula(rformula), data = d, weights = .w, Hess = TRUE, reltol = 1e-15, maxit = 1000,
             trace = FALSE)
  }
  stopifnot(fit$convergence == 0)
  cf <- coef(fit); se <- summary(fit)$standard.errors
  if (is.null(dim(cf))) { cf <- matrix(cf, 1, dimnames = list(fit$lev[2], names(cf))); se <- matrix(se, 1) }
  rows <- list()
  for (k in seq_len(nrow(cf))) for (j in seq_len(ncol(cf)))
    rows[[length(rows) + 1]] <- list(component = rownames(cf)[k], term = colnames(cf)[j],
                                     estimate = cf[k, j], std_error = se[k, j])
  ll <- logLik(fit)
  case <- list(name = name, kind = "multinomial", file = file, formula = formula, weights = weights,
               link = NULL, levels = fit$lev, coefficients = rows, log_likelihood = as.numeric(ll),
               deviance = deviance(fit), aic = AIC(fit), bic = BIC(fit), df = attr(ll, "df"),
               vcov_terms = rownames(vcov(fit)), vcov = unname(vcov(fit)))
  if (!is.null(newdata)) {
    nd <- read.csv(file.path(datadir, newdata), stringsAsFactors = FALSE)
    p <- predict(fit, newdata = nd, type = "probs")
    if (is.null(dim(p))) p <- matrix(p, nrow = 1)
    case$newdata <- newdata
    case$probs <- unname(p)
    case$class <- as.character(predict(fit, newdata = nd, type = "class"))
  }
  case
}

polr_case <- function(name, file, formula, rformula, method, weights = NULL, newdata = NULL, start = NULL) {
  d <- read_example(file)
  control <- list(reltol = 1e-15, maxit = 1000)
  d$.w <- if (is.null(weights)) rep(1, nrow(d)) else d[[weights]]
  fit <- if (is.null(start))
    polr(as.formula(rformula), data = d, weights = .w, Hess = TRUE, method = method, control = control)
  else
    polr(as.formula(rformula), data = d, weights = .w, Hess = TRUE, method = method, control = control,
         start = start)
  stopifnot(fit$convergence == 0)
  ## polr's log-likelihood written out, for an accurate Hessian (numDeriv's Richardson
  ## extrapolation): polr's own (optimHess, steps of 1e-3) is off by up to 1e-3
  ## relative on birthwt's sparse ftv levels.
  pfun <- switch(method, logistic = plogis, probit = pnorm, cauchit = pcauchy,
                 cloglog = function(q) -expm1(-exp(q)), loglog = function(q) exp(-exp(-q)))
  X <- model.matrix(fit)[, -1, drop = FALSE]
  y <- as.integer(model.response(model.frame(fit)))
  off <- model.offset(model.frame(fit))
  if (is.null(off)) off <- 0
  w <- d$.w
  p <- ncol(X)
  loglik <- function(theta) {
    eta <- drop(X %*% theta[seq_len(p)]) + off
    zeta <- c(-Inf, theta[-seq_len(p)], Inf)
    sum(w * log(pfun(zeta[y + 1] - eta) - pfun(zeta[y] - eta)))
  }
  theta <- c(fit$coefficients, fit$zeta)
  case_note <- NULL
  if (method == "cauchit") {
    ## polr's cauchit fit stops short of the maximum of its own likelihood (here its
    ## logLik, -1752.77, is not even the likelihood at its estimates, -1742.17): the
    ## reference is the maximum found by Newton steps on numDeriv's derivatives.
    for (i in 1:20) theta <- theta - solve(numDeriv::hessian(loglik, theta), numDeriv::grad(loglik, theta))
    case_note <- sprintf("polr's own: logLik %.10g, coefficients %s", as.numeric(logLik(fit)),
                         paste(format(c(fit$coefficients, fit$zeta), digits = 10), collapse = " "))
  }
  exact_vcov <- solve(-numDeriv::hessian(loglik, theta))
  st <- sqrt(diag(exact_vcov))
  rows <- list()
  polr_st <- sqrt(diag(vcov(fit)))
  for (j in seq_along(theta))
    rows[[length(rows) + 1]] <- list(
      component = if (j <= p) "location" else "threshold", term = names(theta)[j], estimate = unname(theta[j]),
      std_error = unname(st[j]), polr_std_error = unname(polr_st[j]))
  ll <- structure(loglik(theta), df = length(theta))
  nobs <- sum(w)
  link <- c(logistic = "logit", probit = "probit", cloglog = "cloglog", loglog = "loglog", cauchit = "cauchit")[[method]]
  case <- list(name = name, kind = "ordinal", file = file, formula = formula, weights = weights, link = link,
               levels = fit$lev, coefficients = rows, log_likelihood = as.numeric(ll), deviance = -2 * as.numeric(ll),
               aic = -2 * as.numeric(ll) + 2 * length(theta), bic = -2 * as.numeric(ll) + log(nobs) * length(theta),
               df = length(theta), vcov_terms = rownames(vcov(fit)), vcov = unname(exact_vcov),
               polr_vcov = unname(vcov(fit)), note = case_note)
  if (method != "cauchit") {
    stopifnot(isTRUE(all.equal(as.numeric(ll), as.numeric(logLik(fit)), tolerance = 1e-12)),
              isTRUE(all.equal(-2 * as.numeric(ll) + log(nobs) * length(theta), BIC(fit), tolerance = 1e-12)))
  }
  if (!is.null(newdata)) {
    nd <- read.csv(file.path(datadir, newdata), stringsAsFactors = FALSE)
    case$newdata <- newdata
    if (method == "cauchit") {
      fit$coefficients <- theta[seq_len(p)]
      fit$zeta <- theta[-seq_len(p)]
    }
    case$probs <- unname(predict(fit, newdata = nd, type = "probs"))
    case$class <- as.character(predict(fit, newdata = nd, type = "class"))
  }
  case
}

cases[[length(cases) + 1]] <- multinom_case(
  "multinom_housing", "housing.csv", "Sat ~ Infl + Type + Cont", "Sat ~ Infl + Type + Cont", weights = "Freq",
  newdata = "housing_new.csv")
cases[[length(cases) + 1]] <- multinom_case(
  "multinom_fgl_six_classes", "fgl.csv", "type ~ RI + Na + Mg + Al", "type ~ RI + Na + Mg + Al",
  newdata = "fgl_new.csv")
cases[[length(cases) + 1]] <- multinom_case(
  "multinom_birthwt_numeric_race", "birthwt.csv", "race ~ age + lwt + smoke", "factor(race) ~ age + lwt + smoke",
  newdata = "birthwt_new.csv")
cases[[length(cases) + 1]] <- multinom_case(
  "multinom_birthwt_two_levels", "birthwt.csv", "low ~ age + lwt + smoke", "factor(low) ~ age + lwt + smoke")

logistic <- polr(factor(satisfaction) ~ Infl + Type + Cont, data = transform(read_example("housing.csv")),
                 weights = Freq, control = list(reltol = 1e-15, maxit = 1000))
for (method in c("logistic", "probit", "cloglog", "loglog", "cauchit")) {
  ## cauchit: polr's own start (a logistic glm) fails on these data; start it
  ## from the logistic fit instead (the maximum is the same).
  start <- if (method == "cauchit") c(logistic$coefficients, logistic$zeta) else NULL
  cases[[length(cases) + 1]] <- polr_case(
    paste0("polr_housing_", method), "housing.csv", "satisfaction ~ Infl + Type + Cont",
    "factor(satisfaction) ~ Infl + Type + Cont", method, weights = "Freq", newdata = "housing_new.csv",
    start = start)
}
cases[[length(cases) + 1]] <- polr_case(
  "polr_birthwt_ftv", "birthwt.csv", "ftv ~ age + lwt", "factor(ftv) ~ age + lwt", "logistic",
  newdata = "birthwt_new.csv")
cases[[length(cases) + 1]] <- polr_case(
  "polr_birthwt_ftv_offset", "birthwt.csv", "ftv ~ age + offset(lwt/100)", "factor(ftv) ~ age + offset(lwt/100)",
  "logistic")
cases[[length(cases) + 1]] <- polr_case(
  "polr_birthwt_ftv_probit", "birthwt.csv", "ftv ~ age + lwt + smoke", "factor(ftv) ~ age + lwt + smoke", "probit")

## A minimal JSON writer: numbers with %.17g (every double reads back exactly),
## NA/NaN/Inf and NULL as null, a matrix as an array of its rows.
json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.null(x)) return("null")
  if (is.matrix(x)) return(json(lapply(seq_len(nrow(x)), function(i) array_of(x[i, ])), indent))
  if (is.list(x)) {
    if (!is.null(names(x))) {
      items <- vapply(names(x), function(n) paste0(inner, json(n), ": ", json(x[[n]], inner)), "")
      return(paste0("{\n", paste(items, collapse = ",\n"), "\n", indent, "}"))
    }
    if (length(x) == 0) return("[]")
    items <- vapply(x, function(v) paste0(inner, json(v, inner)), "")
    return(paste0("[\n", paste(items, collapse = ",\n"), "\n", indent, "]"))
  }
  scalar <- function(v) {
    if (is.character(v)) return(paste0('"', gsub('"', '\\"', v, fixed = TRUE), '"'))
    if (is.logical(v) && !is.na(v)) return(if (v) "true" else "false")
    if (!is.finite(v)) return("null")
    sprintf("%.17g", v)
  }
  values <- vapply(x, scalar, "")
  if (length(x) == 1 && is.null(attr(x, "array"))) return(values)
  paste0("[", paste(values, collapse = ", "), "]")
}
array_of <- function(x) structure(x, array = TRUE)
cases <- lapply(cases, function(case) {
  case$levels <- array_of(case$levels)
  case$vcov_terms <- array_of(case$vcov_terms)
  if (!is.null(case$class)) case$class <- array_of(case$class)
  case
})
writeLines(json(list(r_version = R.version.string, nnet = as.character(packageVersion("nnet")),
                     mass = as.character(packageVersion("MASS")), cases = cases)),
           file.path(refdir, "multinomial_reference.json"))

## R's printed summaries, for the text layout.
sink(file.path(datadir, "r_summaries.txt"))
d <- read_example("housing.csv")
print(summary(multinom(Sat ~ Infl + Type + Cont, data = d, weights = Freq, Hess = TRUE, reltol = 1e-15,
                       maxit = 1000, trace = FALSE)))
print(summary(polr(factor(satisfaction) ~ Infl + Type + Cont, data = d, weights = Freq, Hess = TRUE,
                   control = list(reltol = 1e-15, maxit = 1000))))
b <- read_example("birthwt.csv")
print(summary(multinom(factor(low) ~ age + lwt + smoke, data = b, Hess = TRUE, reltol = 1e-15, maxit = 1000,
                       trace = FALSE)))
sink()
