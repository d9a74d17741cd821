#!/usr/bin/env Rscript
# Reference numbers for the GEE fits geepack itself cannot make.
#
# Writes gee_extra_reference.json with two kinds of cases:
#
#   method = "glm_sandwich": independence GEEs for families and links geepack
#     does not offer (its C++ knows the gaussian, binomial, poisson and Gamma
#     variances and the identity, logit, probit, cloglog, log and inverse links
#     only). An independence GEE solves glm's score equations, so its
#     coefficients are glm's, here iterated 200 times (Fisher scoring converges
#     only linearly for a non-canonical link, and glm's deviance criterion stops
#     with coefficients good to the square root of its epsilon), its robust
#     covariance is sandwich::vcovCL(type = "HC0", cadjust = FALSE) (checked
#     below against geeglm on a family geepack has), and its naive covariance is
#     phi * (X'WX)^-1 with geepack's scale phi = sum(w r^2) / sum(w), r the
#     Pearson residuals (no degrees-of-freedom correction).
#
#   method = "r_implementation": geepack's algorithm (Fisher scoring on beta,
#     then one step each on the scale and the correlation parameters, stop when
#     no parameter moved more than epsilon; the sandwich for beta) written out
#     in R below, for an unstructured working correlation with clusters that
#     skip a wave. geepack 1.3.9 cannot fit those: its cor_unstr() builds the
#     cluster's matrix from the cluster's own pairs and then indexes it by wave
#     number, reading past the matrix (R crashed on muscatine with
#     corstr = "unstructured", waves = occasion). The R code here is checked
#     against geeglm on balanced unstructured, ar1 and exchangeable fits first,
#     and run here to epsilon 1e-13.
#
# Usage: Rscript Tests/GLMCoreTests/Reference/make_gee_extra_reference.R
# Needs geepack (1.3.9 here), sandwich and MASS.

suppressPackageStartupMessages({
  library(geepack)
  library(sandwich)
  library(MASS)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

json_str <- function(s) if (length(s) != 1 || is.na(s)) "null" else paste0("\"", gsub("\"", "\\\"", s, fixed = TRUE), "\"")
json_num <- function(x) {
  if (length(x) != 1) stop("json_num: not a scalar")
  if (is.na(x) || !is.finite(x)) return("null")
  if (is.integer(x)) return(as.character(x))
  sprintf("%.17g", x)
}
json_num_array <- function(x) paste0("[", paste(vapply(as.list(x), json_num, ""), collapse = ", "), "]")
json_str_array <- function(x) paste0("[", paste(vapply(as.list(x), json_str, ""), collapse = ", "), "]")
json_object <- function(fields, indent = "    ") {
  body <- paste0(indent, "  ", vapply(names(fields), json_str, ""), ": ", unlist(fields))
  paste0("{\n", paste(body, collapse = ",\n"), "\n", indent, "}")
}

read_data <- function(file, vars) {
  d <- read.csv(file.path(root, file), stringsAsFactors = TRUE, na.strings = c("NA", "", "NaN"))
  d[complete.cases(d[, vars, drop = FALSE]), , drop = FALSE]
}

## ---- independence GEE = glm + cluster sandwich ----------------------------------

glm_sandwich <- function(d, formula, family, idcol, weights = NULL) {
  env <- environment()
  # epsilon 1e-300: run all 200 iterations, to the fixed point in floating point
  # (glm warns that it did not converge).
  control <- glm.control(epsilon = 1e-300, maxit = 200)
  fit <- suppressWarnings(if (is.null(weights))
    glm(formula, family = family, data = d, control = control)
  else glm(formula, family = family, data = d, weights = d[[weights]], control = control))
  robust <- vcovCL(fit, cluster = d[[idcol]], type = "HC0", cadjust = FALSE)
  w <- fit$prior.weights
  r <- (fit$y - fit$fitted.values) / sqrt(family$variance(fit$fitted.values))
  phi <- sum(w * r^2) / sum(w)
  naive <- phi * summary(fit)$cov.unscaled
  list(coefficients = coef(fit), std_errors = sqrt(diag(robust)),
       naive_std_errors = sqrt(diag(naive)), scale = phi,
       alpha = numeric(0), n_clusters = length(unique(d[[idcol]])),
       max_cluster_size = max(table(d[[idcol]])))
}

## ---- geepack's algorithm, written out -------------------------------------------

# Rows of d must be in cluster order (and wave order inside a cluster).
gee_in_r <- function(d, formula, family, idcol, wavecol, corstr, epsilon = 1e-10, maxit = 200) {
  X <- model.matrix(formula, d)
  y <- model.response(model.frame(formula, d))
  n <- nrow(X); p <- ncol(X)
  w <- rep(1, n)
  id <- d[[idcol]]
  starts <- c(which(!duplicated(id)), n + 1)
  K <- if (is.null(wavecol)) max(diff(starts)) else nlevels(factor(d[[wavecol]]))
  wave <- if (is.null(wavecol)) unlist(lapply(diff(starts), seq_len)) else as.integer(factor(d[[wavecol]]))
  pairs <- outer(1:K, 1:K, function(a, b) ifelse(a < b, (a - 1) * K - (a - 1) * a / 2 + (b - a), NA))
  q <- switch(corstr, independence = 0, exchangeable = 1, ar1 = 1, unstructured = K * (K - 1) / 2)
  Rmat <- function(wv, alpha) {
    s <- length(wv); R <- diag(s)
    if (s > 1 && q > 0) for (j in 1:(s - 1)) for (k in (j + 1):s) {
      R[j, k] <- R[k, j] <- switch(corstr, exchangeable = alpha, ar1 = alpha^abs(wv[k] - wv[j]),
                                   unstructured = alpha[pairs[wv[j], wv[k]]])
    }
    R
  }
  fit0 <- glm.fit(X, y, family = family)
  b <- fit0$coefficients
  alpha <- rep(0, q)
  mu0 <- family$linkinv(drop(X %*% b))
  phi <- mean((y - mu0)^2 / family$variance(mu0))
  for (iter in 1:maxit) {
    eta <- drop(X %*% b); mu <- family$linkinv(eta)
    H <- matrix(0, p, p); G <- rep(0, p)
    for (c in seq_len(length(starts) - 1)) {
      i <- starts[c]:(starts[c + 1] - 1)
      D <- (family$mu.eta(eta[i]) / sqrt(family$variance(mu[i]))) * X[i, , drop = FALSE] * sqrt(w[i] / phi)
      r <- (y[i] - mu[i]) / sqrt(family$variance(mu[i])) * sqrt(w[i] / phi)
      R <- Rmat(wave[i], alpha)
      H <- H + t(D) %*% solve(R, D); G <- G + t(D) %*% solve(R, r)
    }
    del <- drop(solve(H, G)); b <- b + del
    mu <- family$linkinv(drop(X %*% b))
    r <- (y - mu) / sqrt(family$variance(mu))
    phinew <- sum(w * r^2) / sum(w); dphi <- phinew - phi; phi <- phinew
    dalpha <- 0
    if (q > 0) {
      Ha <- rep(0, q); Ga <- rep(0, q)
      for (c in seq_len(length(starts) - 1)) {
        i <- starts[c]:(starts[c + 1] - 1)
        s <- length(i); if (s < 2) next
        for (j in 1:(s - 1)) for (k in (j + 1):s) {
          a <- i[j]; bb <- i[k]; dist <- abs(wave[bb] - wave[a])
          idx <- if (corstr == "unstructured") pairs[wave[a], wave[bb]] else 1
          rho <- switch(corstr, exchangeable = alpha, ar1 = alpha^dist, unstructured = alpha[idx])
          e <- if (corstr == "ar1" && dist != 1) dist * alpha^(dist - 1) else 1
          ww <- w[a] * w[bb]
          Ha[idx] <- Ha[idx] + e * ww * e
          Ga[idx] <- Ga[idx] + e * ww * (r[a] * r[bb] / phi - rho)
        }
      }
      dalpha <- Ga / Ha; alpha <- alpha + dalpha
    }
    if (max(abs(c(del, dphi, dalpha))) <= epsilon) break
  }
  eta <- drop(X %*% b); mu <- family$linkinv(eta)
  A <- matrix(0, p, p); M <- matrix(0, p, p)
  for (c in seq_len(length(starts) - 1)) {
    i <- starts[c]:(starts[c + 1] - 1)
    D <- (family$mu.eta(eta[i]) / sqrt(family$variance(mu[i]))) * X[i, , drop = FALSE] * sqrt(w[i])
    r <- (y[i] - mu[i]) / sqrt(family$variance(mu[i])) * sqrt(w[i])
    V1 <- phi * Rmat(wave[i], alpha)
    A <- A + t(D) %*% solve(V1, D)
    u <- t(D) %*% solve(V1, r); M <- M + u %*% t(u)
  }
  Ai <- solve(A)
  names(b) <- colnames(X)
  list(coefficients = b, std_errors = sqrt(diag(Ai %*% M %*% Ai)), naive_std_errors = sqrt(diag(Ai)),
       scale = phi, alpha = alpha, n_clusters = length(starts) - 1,
       max_cluster_size = max(diff(starts)), iterations = iter)
}

## ---- checks of both methods against geeglm ---------------------------------------

agree <- function(ours, g, what) {
  gs <- summary(g)
  diffs <- c(coef = max(abs(ours$coefficients / coef(g) - 1)),
             se = max(abs(ours$std_errors / gs$coefficients[, "Std.err"] - 1)),
             naive = max(abs(ours$naive_std_errors / sqrt(diag(g$geese$vbeta.naiv)) - 1)),
             scale = abs(ours$scale / g$geese$gamma - 1),
             alpha = if (length(ours$alpha)) max(abs(ours$alpha - g$geese$alpha)) else 0)
  cat(sprintf("check %-42s max relative differences: %s\n", what,
              paste(names(diffs), sprintf("%.1e", diffs), collapse = " ")))
  if (any(diffs > 1e-7)) stop("check failed: ", what)
}
tight <- geese.control(epsilon = 1e-10, maxit = 100)
ohio <- read_data("Examples/ohio.csv", c("resp", "age", "smoke", "id"))
f_ohio <- resp ~ age + smoke + age:smoke
agree(glm_sandwich(ohio, f_ohio, binomial(), "id"),
      geeglm(f_ohio, family = binomial, data = ohio, id = id, control = tight),
      "glm_sandwich vs geeglm (ohio, independence)")
for (cs in c("exchangeable", "ar1", "unstructured"))
  agree(gee_in_r(ohio, f_ohio, binomial(), "id", NULL, cs),
        geeglm(f_ohio, family = binomial, data = ohio, id = id, corstr = cs, control = tight),
        paste0("gee_in_r vs geeglm (ohio, ", cs, ")"))
musc <- read_data("Examples/muscatine.csv", c("numobese", "gender", "age", "id", "occasion"))
musc <- musc[order(musc$id, musc$occasion), ]
f_musc <- numobese ~ gender + I(age - 12) + I((age - 12)^2)
agree(gee_in_r(musc, f_musc, binomial(), "id", "occasion", "ar1"),
      geeglm(f_musc, family = binomial, data = musc, id = id, waves = occasion, corstr = "ar1", control = tight),
      "gee_in_r vs geeglm (muscatine, ar1, waves)")
epil <- read_data("Examples/epil.csv", c("y", "lbase", "trt", "lage", "V4", "subject", "period"))
agree(gee_in_r(epil, y ~ lbase * trt + lage + V4, poisson(), "subject", "period", "unstructured"),
      geeglm(y ~ lbase * trt + lage + V4, family = poisson, data = epil, id = subject, waves = period,
             corstr = "unstructured", control = tight),
      "gee_in_r vs geeglm (epil, unstructured, waves)")

## ---- the cases ----------------------------------------------------------------

cases <- list(
  list(id = "ohio_cauchit_independence", data = "Examples/ohio.csv", formula = "resp ~ age + smoke + age:smoke",
       family = "binomial", link = "cauchit", theta = NA, id_column = "id", waves = NA, corstr = "independence",
       method = "glm_sandwich", fit = function(d, f) glm_sandwich(d, f, binomial("cauchit"), "id")),
  list(id = "ohio_quasibinomial_independence", data = "Examples/ohio.csv", formula = "resp ~ age + smoke",
       family = "quasibinomial", link = "logit", theta = NA, id_column = "id", waves = NA, corstr = "independence",
       method = "glm_sandwich", fit = function(d, f) glm_sandwich(d, f, quasibinomial(), "id")),
  list(id = "epil_sqrt_independence", data = "Examples/epil.csv", formula = "y ~ lbase + trt + lage + V4",
       family = "poisson", link = "sqrt", theta = NA, id_column = "subject", waves = NA, corstr = "independence",
       method = "glm_sandwich", fit = function(d, f) glm_sandwich(d, f, poisson("sqrt"), "subject")),
  list(id = "epil_quasipoisson_independence", data = "Examples/epil.csv", formula = "y ~ lbase * trt + lage + V4",
       family = "quasipoisson", link = "log", theta = NA, id_column = "subject", waves = NA, corstr = "independence",
       method = "glm_sandwich", fit = function(d, f) glm_sandwich(d, f, quasipoisson(), "subject")),
  list(id = "epil_negbin_independence", data = "Examples/epil.csv", formula = "y ~ lbase * trt + lage + V4",
       family = "negative-binomial", link = "log", theta = 2, id_column = "subject", waves = NA,
       corstr = "independence", method = "glm_sandwich",
       fit = function(d, f) glm_sandwich(d, f, negative.binomial(2), "subject")),
  list(id = "dietox_inverse_gaussian_independence", data = "Examples/dietox.csv", formula = "Weight ~ Time + Cu",
       family = "inverse-gaussian", link = "1/mu^2", theta = NA, id_column = "Pig", waves = NA,
       corstr = "independence", method = "glm_sandwich",
       fit = function(d, f) glm_sandwich(d, f, inverse.gaussian(), "Pig")),
  list(id = "muscatine_unstructured_skipped_waves", data = "Examples/muscatine.csv",
       formula = "numobese ~ gender + I(age - 12) + I((age - 12)^2)", family = "binomial", link = "logit",
       theta = NA, id_column = "id", waves = "occasion", corstr = "unstructured", method = "r_implementation",
       fit = function(d, f) gee_in_r(d[order(d$id, d$occasion), ], f, binomial(), "id", "occasion", "unstructured",
                                     epsilon = 1e-13))
)

objs <- character(0)
for (cs in cases) {
  f <- as.formula(cs$formula)
  vars <- unique(c(all.vars(f), cs$id_column, if (!is.na(cs$waves)) cs$waves))
  d <- read_data(cs$data, vars)
  res <- cs$fit(d, f)
  cat(sprintf("%-40s %-16s n=%d clusters=%d scale=%.6g alpha=%s\n", cs$id, cs$method, nrow(d),
              res$n_clusters, res$scale, paste(signif(res$alpha, 4), collapse = ",")))
  objs <- c(objs, json_object(list(
    id = json_str(cs$id), data = json_str(cs$data), formula = json_str(cs$formula),
    family = json_str(cs$family), link = json_str(cs$link), theta = json_num(cs$theta),
    id_column = json_str(cs$id_column), waves = json_str(cs$waves), corstr = json_str(cs$corstr),
    method = json_str(cs$method), n_obs = json_num(nrow(d)),
    coef_names = json_str_array(names(res$coefficients)),
    coefficients = json_num_array(unname(res$coefficients)),
    std_errors = json_num_array(unname(res$std_errors)),
    naive_std_errors = json_num_array(unname(res$naive_std_errors)),
    scale = json_num(res$scale), alpha = json_num_array(res$alpha),
    n_clusters = json_num(as.integer(res$n_clusters)),
    max_cluster_size = json_num(as.integer(res$max_cluster_size)))))
}
out <- c("{", paste0("  \"r_version\": ", json_str(R.version.string), ","),
         paste0("  \"geepack_version\": ", json_str(as.character(packageVersion("geepack"))), ","),
         paste0("  \"sandwich_version\": ", json_str(as.character(packageVersion("sandwich"))), ","),
         "  \"cases\": [", paste0("    ", paste(objs, collapse = ",\n    ")), "  ]", "}")
writeLines(out, file.path(refdir, "gee_extra_reference.json"), useBytes = TRUE)
