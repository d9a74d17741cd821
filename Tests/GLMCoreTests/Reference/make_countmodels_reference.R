#!/usr/bin/env Rscript
# Reference numbers for glmfit's zero-inflated (pscl::zeroinfl) and hurdle
# (pscl::hurdle) count models and its Tweedie family (statmod::tweedie with
# R's glm), fitted to the CSV files under Examples/ as glmfit reads them (text
# columns as factors with levels in C collation order).
#
# Writes, next to this script: countmodels_reference.json, and the new rows for
# predictions under countmodel_data/.
#
# Usage (from anywhere):  Rscript Tests/GLMCoreTests/Reference/make_countmodels_reference.R
#
# pscl's optimiser runs with tight tolerances (reltol = 1e-15, maxit = 10000);
# its standard errors come from optim's numerically differentiated Hessian
# (ndeps = 1e-3), which is off by up to 2e-4 relative for a regressor on a wide
# scale (ment), and BFGS stops short of the maximum for coefficients near zero
# (by 4e-9). So the script writes the model's log-likelihood out in R, checks it
# against pscl's logLik, polishes pscl's estimates by Newton steps on pscl's
# analytic score (sandwich::estfun; numDeriv's for log theta) with numDeriv's
# (Richardson) Hessian, and records those estimates and the
# standard errors from numDeriv's Hessian; pscl's own are kept as
# pscl_estimate and pscl_std_error.

suppressPackageStartupMessages({
  library(pscl)
  library(statmod)
  library(jsonlite)
  library(sandwich)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))
datadir <- file.path(refdir, "countmodel_data")
dir.create(datadir, showWarnings = FALSE)
read_example <- function(file) read.csv(file.path(root, "Examples", file), stringsAsFactors = TRUE)

## New rows (not in any fit) for predict(type = "response" / "zero" / "count").
bio_new <- data.frame(fem = c("Men", "Women", "Women", "Men", "Women"),
                      mar = c("Single", "Married", "Single", "Married", "Married"),
                      kid5 = c(0, 1, 2, 3, 0), phd = c(1.1, 2.35, 3.05, 4.4, 4.95),
                      ment = c(0, 3, 11, 27, 60))
write.csv(bio_new, file.path(datadir, "biochemists_new.csv"), row.names = FALSE)
nmes_new <- data.frame(hospital = c(0, 1, 4), health = c("poor", "average", "excellent"),
                       chronic = c(0, 3, 7), gender = c("female", "male", "male"),
                       school = c(0, 12, 18), insurance = c("no", "yes", "yes"))
write.csv(nmes_new, file.path(datadir, "nmes1988_new.csv"), row.names = FALSE)

cases <- list()

count_case <- function(name, kind, file, formula, dist = "poisson", link = "logit", newdata = NULL,
                       weights = NULL) {
  message(name)
  ## A file with a folder is under the repository (weighted data made below), else under Examples/.
  d <- if (grepl("/", file)) read.csv(file.path(root, file), stringsAsFactors = TRUE) else read_example(file)
  .case_weights <- if (is.null(weights)) rep(1, nrow(d)) else d[[weights]]
  f <- as.formula(formula)
  fit <- if (kind == "zero-inflated")
    zeroinfl(f, data = d, dist = dist, link = link, weights = .case_weights,
             control = zeroinfl.control(reltol = 1e-15, maxit = 10000))
  else hurdle(f, data = d, dist = dist, zero.dist = "binomial", link = link, weights = .case_weights,
              control = hurdle.control(reltol = 1e-15, maxit = 10000))
  stopifnot(fit$converged)
  s <- summary(fit)$coefficients
  X <- model.matrix(fit, model = "count"); Z <- model.matrix(fit, model = "zero")
  offc <- if (is.null(fit$offset$count)) 0 else fit$offset$count
  offz <- if (is.null(fit$offset$zero)) 0 else fit$offset$zero
  y <- fit$y; w <- fit$weights; p <- ncol(X); q <- ncol(Z)
  linkinv <- make.link(link)$linkinv
  loglik <- function(par) {
    mu <- as.vector(exp(X %*% par[1:p] + offc))
    pz <- as.vector(linkinv(Z %*% par[p + 1:q] + offz))
    theta <- switch(dist, poisson = NA, geometric = 1, negbin = exp(par[p + q + 1]))
    logf <- if (dist == "poisson") dpois(y, mu, log = TRUE) else dnbinom(y, size = theta, mu = mu, log = TRUE)
    f0 <- if (dist == "poisson") dpois(0, mu) else dnbinom(0, size = theta, mu = mu)
    l <- if (kind == "zero-inflated") ifelse(y == 0, log(pz + (1 - pz) * f0), log(1 - pz) + logf)
         else ifelse(y == 0, log(1 - pz), log(pz) + logf - log(1 - f0))
    sum(w * l)
  }
  ptheta <- if (dist == "negbin") log(if (kind == "hurdle") fit$theta[["count"]] else fit$theta) else NULL
  par <- c(fit$coefficients$count, fit$coefficients$zero, ptheta)
  stopifnot(abs(loglik(par) - as.numeric(logLik(fit))) < 1e-8)
  ## The score: pscl's analytic one (sandwich::estfun of the fit with the parameters put
  ## in), numDeriv's for log(theta) only.
  score <- function(par) {
    f <- fit
    f$coefficients$count[] <- par[1:p]
    f$coefficients$zero[] <- par[p + 1:q]
    if (dist == "negbin") {
      if (kind == "hurdle") f$theta[["count"]] <- exp(par[p + q + 1]) else f$theta <- exp(par[p + q + 1])
    }
    g <- colSums(sandwich::estfun(f))
    if (dist == "negbin") g <- c(g, numDeriv::grad(function(t) loglik(c(par[1:(p + q)], t)), par[p + q + 1]))
    unname(g)
  }
  for (i in 1:6) par <- par - solve(numDeriv::hessian(loglik, par), score(par))
  se <- sqrt(diag(solve(-numDeriv::hessian(loglik, par))))
  coefs <- list()
  k <- 0
  for (part in c("count", "zero")) {
    m <- s[[part]]
    for (term in rownames(m)) {
      if (term == "Log(theta)") next
      k <- k + 1
      coefs[[length(coefs) + 1]] <- list(component = part, term = term, estimate = par[[k]],
                                         std_error = se[[k]], pscl_estimate = m[term, 1], pscl_std_error = m[term, 2])
    }
  }
  ll <- logLik(fit)
  lt <- if (dist == "negbin") par[[p + q + 1]] else NULL
  case <- list(name = name, kind = kind, file = file, formula = formula, family = dist, zero_link = link,
               weights = weights, bic = -2 * loglik(par) + log(fit$n) * attr(ll, "df"),
               coefficients = coefs, log_likelihood = loglik(par), pscl_log_likelihood = as.numeric(ll),
               df = attr(ll, "df"), aic = -2 * loglik(par) + 2 * attr(ll, "df"), n_obs = fit$n,
               theta = if (dist == "negbin") exp(lt) else NULL,
               theta_std_error = if (dist == "negbin") exp(lt) * se[[p + q + 1]] else NULL,
               log_theta_std_error = if (dist == "negbin") se[[p + q + 1]] else NULL,
               pscl_theta = if (dist == "negbin") fit$theta[[1]] else NULL,
               pscl_log_theta_std_error = if (dist == "negbin") fit$SE.logtheta[[1]] else NULL)
  if (!is.null(newdata)) {
    nd <- read.csv(file.path(datadir, newdata), stringsAsFactors = TRUE)
    for (col in names(nd)) if (is.factor(d[[col]])) nd[[col]] <- factor(as.character(nd[[col]]), levels = levels(d[[col]]))
    case$newdata <- newdata
    ## pscl's predict at the polished estimates (those recorded above): in a probit tail a
    ## zero probability moves by |eta| times the estimates' error, which reltol leaves at 1e-7.
    polished <- fit
    polished$coefficients$count[] <- par[1:p]
    polished$coefficients$zero[] <- par[p + 1:q]
    if (dist == "negbin") {
      if (kind == "hurdle") polished$theta[["count"]] <- exp(par[p + q + 1]) else polished$theta <- exp(par[p + q + 1])
    }
    case$response <- unname(predict(polished, newdata = nd, type = "response"))
    case$zero <- unname(predict(polished, newdata = nd, type = "zero"))
    case$count <- unname(predict(polished, newdata = nd, type = "count"))
    case$pscl_response <- unname(predict(fit, newdata = nd, type = "response"))
  }
  if (kind == "zero-inflated" && dist == "poisson" && is.null(weights)) {
    # pscl::vuong against the plain poisson glm of the count part.
    plain <- glm(as.formula(sub("\\|.*$", "", formula)), data = d, family = poisson)
    out <- capture.output(v <- vuong(fit, plain))
    case$vuong_printed <- out
  }
  cases[[length(cases) + 1]] <<- case
}

nmes <- "visits ~ hospital + health + chronic + gender + school + insurance"
count_case("zip_bio", "zero-inflated", "biochemists.csv", "art ~ .", newdata = "biochemists_new.csv")
count_case("zinb_bio_ment", "zero-inflated", "biochemists.csv", "art ~ fem + mar + kid5 + phd + ment | ment",
           dist = "negbin", newdata = "biochemists_new.csv")
count_case("zigeom_bio_probit", "zero-inflated", "biochemists.csv", "art ~ fem + mar + kid5 + ment | kid5 + ment",
           dist = "geometric", link = "probit")
## Its predictions for the new rows reach the probit's far tail (a zero probability of 3e-12),
## where 2e-7 of relative difference in the weakly determined ment coefficient moves them by
## 1e-5: the predict reference for a geometric count part is this logit one.
## (Without ment the zero part of a geometric fit to these data is at the boundary: no
## excess zeros, pscl's zero intercept -13.8 with standard error 65.)
count_case("zigeom_bio", "zero-inflated", "biochemists.csv", "art ~ fem + mar + kid5 + phd + ment | ment",
           dist = "geometric", newdata = "biochemists_new.csv")
count_case("zip_bio_cloglog_1", "zero-inflated", "biochemists.csv", "art ~ fem + kid5 + ment | 1", link = "cloglog")
count_case("zinb_nmes_cauchit", "zero-inflated", "nmes1988.csv", paste(nmes, "| chronic + insurance + school"),
           dist = "negbin", link = "cauchit", newdata = "nmes1988_new.csv")
count_case("hurdle_p_bio", "hurdle", "biochemists.csv", "art ~ .", newdata = "biochemists_new.csv")
count_case("hurdle_nb_bio", "hurdle", "biochemists.csv", "art ~ fem + mar + kid5 + phd + ment | fem + ment",
           dist = "negbin", newdata = "biochemists_new.csv")
count_case("hurdle_geom_bio_probit", "hurdle", "biochemists.csv", "art ~ fem + kid5 + ment | ment",
           dist = "geometric", link = "probit", newdata = "biochemists_new.csv")
count_case("hurdle_nb_nmes", "hurdle", "nmes1988.csv", paste(nmes, "| hospital + chronic + insurance + gender"),
           dist = "negbin", newdata = "nmes1988_new.csv")
count_case("hurdle_p_nmes_cloglog", "hurdle", "nmes1988.csv", nmes, link = "cloglog")
## Offsets in both parts, as pscl allows them.
count_case("zip_bio_offsets", "zero-inflated", "biochemists.csv",
           "art ~ fem + kid5 + ment + offset(log(phd)) | ment + offset(0.1 * kid5)", newdata = "biochemists_new.csv")
count_case("hurdle_nb_bio_offset", "hurdle", "biochemists.csv", "art ~ fem + ment + offset(log(phd)) | ment",
           dist = "negbin", newdata = "biochemists_new.csv")
## Case weights (pscl's weights =): integers 0-3, a quarter of the rows weighted 0, which
## pscl's n (and so BIC) does not count.
bio_weighted <- read_example("biochemists.csv")
bio_weighted$w <- (seq_len(nrow(bio_weighted)) * 7) %% 4
write.csv(bio_weighted, file.path(datadir, "biochemists_weighted.csv"), row.names = FALSE)
weighted_file <- "Tests/GLMCoreTests/Reference/countmodel_data/biochemists_weighted.csv"
count_case("zip_bio_weights", "zero-inflated", weighted_file, "art ~ fem + mar + kid5 + phd + ment | kid5 + ment",
           weights = "w", newdata = "biochemists_new.csv")
count_case("zinb_bio_weights", "zero-inflated", weighted_file, "art ~ fem + kid5 + ment | ment",
           dist = "negbin", weights = "w")
count_case("hurdle_nb_bio_weights", "hurdle", weighted_file, "art ~ fem + mar + kid5 + phd + ment | fem + ment",
           dist = "negbin", weights = "w", newdata = "biochemists_new.csv")
count_case("hurdle_geom_bio_weights", "hurdle", weighted_file, "art ~ fem + kid5 + ment | kid5",
           dist = "geometric", link = "cloglog", weights = "w")

## Tweedie GLMs (statmod::tweedie(var.power, link.power = 0): the log link).
tweedie_cases <- list()
tweedie_case <- function(name, file, formula, power, link = "log") {
  message(name)
  d <- read_example(file)
  lp <- switch(link, log = 0, identity = 1, inverse = -1, sqrt = 0.5)
  fit <- glm(as.formula(formula), data = d, family = tweedie(var.power = power, link.power = lp),
             control = glm.control(epsilon = 1e-12, maxit = 100))
  s <- summary(fit)
  cf <- s$coefficients
  tweedie_cases[[length(tweedie_cases) + 1]] <<- list(
    name = name, file = file, formula = formula, var_power = power, link = link,
    terms = rownames(cf), estimate = unname(cf[, 1]), std_error = unname(cf[, 2]),
    dispersion = s$dispersion, deviance = fit$deviance, null_deviance = fit$null.deviance,
    df_residual = fit$df.residual, aic = if (is.na(fit$aic)) NULL else fit$aic)
}
tw <- "visits ~ hospital + health + chronic + gender + school + insurance"
for (p in c(0, 1, 1.2, 1.5, 1.8)) tweedie_case(sprintf("tweedie_nmes_%g", p), "nmes1988.csv", tw, p)
tweedie_case("tweedie_nmes_1.5_sqrt", "nmes1988.csv", "visits ~ chronic + school", 1.5, link = "sqrt")
for (p in c(1.5, 2, 3)) tweedie_case(sprintf("tweedie_cats_%g", p), "cats.csv", "Hwt ~ Bwt + Sex", p)

writeLines(toJSON(list(cases = cases, tweedie = tweedie_cases), auto_unbox = TRUE, digits = I(17), pretty = TRUE,
                  null = "null"),
           file.path(refdir, "countmodels_reference.json"))
