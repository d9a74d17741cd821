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
# its standard errors come from optim's numerically differentiated Hessian, so
# they agree with glmfit's analytic ones to about 1e-5 only.

suppressPackageStartupMessages({
  library(pscl)
  library(statmod)
  library(jsonlite)
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

count_case <- function(name, kind, file, formula, dist = "poisson", link = "logit", newdata = NULL) {
  message(name)
  d <- read_example(file)
  f <- as.formula(formula)
  fit <- if (kind == "zero-inflated")
    zeroinfl(f, data = d, dist = dist, link = link,
             control = zeroinfl.control(reltol = 1e-15, maxit = 10000))
  else hurdle(f, data = d, dist = dist, zero.dist = "binomial", link = link,
              control = hurdle.control(reltol = 1e-15, maxit = 10000))
  stopifnot(fit$converged)
  s <- summary(fit)$coefficients
  coefs <- list()
  for (part in c("count", "zero")) {
    m <- s[[part]]
    for (term in rownames(m)) {
      if (term == "Log(theta)") next
      coefs[[length(coefs) + 1]] <- list(component = part, term = term, estimate = m[term, 1],
                                         std_error = m[term, 2])
    }
  }
  ll <- logLik(fit)
  case <- list(name = name, kind = kind, file = file, formula = formula, family = dist, zero_link = link,
               coefficients = coefs, log_likelihood = as.numeric(ll), df = attr(ll, "df"),
               aic = AIC(fit), n_obs = fit$n,
               theta = if (dist == "negbin") fit$theta[[1]] else NULL,
               theta_std_error = if (dist == "negbin") fit$SE.logtheta[[1]] * fit$theta[[1]] else NULL,
               log_theta_std_error = if (dist == "negbin") fit$SE.logtheta[[1]] else NULL)
  if (!is.null(newdata)) {
    nd <- read.csv(file.path(datadir, newdata), stringsAsFactors = TRUE)
    for (col in names(nd)) if (is.factor(d[[col]])) nd[[col]] <- factor(as.character(nd[[col]]), levels = levels(d[[col]]))
    case$newdata <- newdata
    case$response <- unname(predict(fit, newdata = nd, type = "response"))
    case$zero <- unname(predict(fit, newdata = nd, type = "zero"))
    case$count <- unname(predict(fit, newdata = nd, type = "count"))
  }
  if (kind == "zero-inflated" && dist == "poisson" && is.null(fit$weights) == FALSE) {
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
count_case("zip_bio_cloglog_1", "zero-inflated", "biochemists.csv", "art ~ fem + kid5 + ment | 1", link = "cloglog")
count_case("zinb_nmes_cauchit", "zero-inflated", "nmes1988.csv", paste(nmes, "| chronic + insurance + school"),
           dist = "negbin", link = "cauchit", newdata = "nmes1988_new.csv")
count_case("hurdle_p_bio", "hurdle", "biochemists.csv", "art ~ .", newdata = "biochemists_new.csv")
count_case("hurdle_nb_bio", "hurdle", "biochemists.csv", "art ~ fem + mar + kid5 + phd + ment | fem + ment",
           dist = "negbin", newdata = "biochemists_new.csv")
count_case("hurdle_geom_bio_probit", "hurdle", "biochemists.csv", "art ~ fem + kid5 + ment | ment",
           dist = "geometric", link = "probit")
count_case("hurdle_nb_nmes", "hurdle", "nmes1988.csv", paste(nmes, "| hospital + chronic + insurance + gender"),
           dist = "negbin", newdata = "nmes1988_new.csv")
count_case("hurdle_p_nmes_cloglog", "hurdle", "nmes1988.csv", nmes, link = "cloglog")

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
