#!/usr/bin/env Rscript
# Reference numbers for glmfit's negative binomial, overdispersion test and
# sandwich (robust) covariance code, computed with MASS, AER and sandwich.
#
# Writes, next to this script:
#   negbin_reference.json          MASS::glm.nb fits and glm(family = negative.binomial(theta))
#   sandwich_reference.json        sandwich::vcovHC (HC0-HC3), vcovCL and hatvalues() of glm fits
#   dispersiontest_reference.json  AER::dispersiontest of poisson fits
#
# Usage (from anywhere):  Rscript Tests/GLMCoreTests/Reference/make_negbin_sandwich_reference.R
# (R 4.2.2, MASS 7.3-58, sandwich 3.0-2, AER 1.2-10 when these numbers were made.)
#
# The JSON is written by hand (as in make_reference.R): numbers with
# sprintf("%.17g"), so every double round-trips exactly; NA/NaN/Inf are null.

suppressPackageStartupMessages({
  library(MASS)
  library(sandwich)
  library(AER)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- if (length(script) == 1) dirname(normalizePath(script)) else
  file.path("Tests", "GLMCoreTests", "Reference")
root <- normalizePath(file.path(refdir, "..", "..", ".."))

## ---- minimal JSON writer (as make_reference.R) --------------------------------

json_str <- function(s) {
  if (length(s) != 1 || is.na(s)) return("null")
  s <- enc2utf8(as.character(s))
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  s <- gsub("\t", "\\t", s, fixed = TRUE)
  paste0("\"", s, "\"")
}
json_num <- function(x) {
  if (length(x) != 1) stop("json_num: not a scalar")
  if (is.na(x) || !is.finite(x)) return("null")
  if (is.integer(x)) return(as.character(x))
  sprintf("%.17g", x)
}
json_int <- function(x) json_num(as.integer(x))
json_bool <- function(x) if (isTRUE(x)) "true" else if (identical(x, FALSE)) "false" else "null"
json_num_array <- function(x) paste0("[", paste(vapply(as.list(x), json_num, ""), collapse = ", "), "]")
json_str_array <- function(x) paste0("[", paste(vapply(as.list(x), json_str, ""), collapse = ", "), "]")
json_matrix <- function(m) {
  if (nrow(m) == 0) return("[]")
  rows <- vapply(seq_len(nrow(m)), function(i) json_num_array(m[i, ]), "")
  paste0("[\n        ", paste(rows, collapse = ",\n        "), "\n      ]")
}
json_object <- function(fields, indent = "    ") {
  body <- paste0(indent, "  ", vapply(names(fields), json_str, ""), ": ", unlist(fields))
  paste0("{\n", paste(body, collapse = ",\n"), "\n", indent, "}")
}
write_json_file <- function(objs, file, extra = character(0)) {
  header <- c("{",
              paste0("  \"r_version\": ", json_str(R.version.string), ","),
              paste0("  \"packages\": {",
                     paste(sprintf("\"%s\": \"%s\"", c("MASS", "sandwich", "AER"),
                                   c(format(packageVersion("MASS")), format(packageVersion("sandwich")),
                                     format(packageVersion("AER")))), collapse = ", "), "},"),
              extra,
              "  \"cases\": [")
  out <- c(header, paste0("    ", paste(objs, collapse = ",\n    ")), "  ]", "}")
  writeLines(out, file.path(refdir, file), useBytes = TRUE)
}

## ---- helpers ------------------------------------------------------------------

read_data <- function(rel) {
  d <- read.csv(file.path(root, rel), stringsAsFactors = TRUE, na.strings = c("NA", "", "NaN"))
  d
}

# Values for every name in `names`, NA where the name is absent (aliased).
by_name <- function(values, names) {
  out <- rep(NA_real_, length(names))
  names(out) <- names
  hit <- intersect(names(values), names)
  out[hit] <- values[hit]
  out
}
first_n <- function(x, n = 5) unname(x[seq_len(min(n, length(x)))])

# Evaluates `expr`, collecting warnings and messages instead of printing them.
collect <- function(expr) {
  warns <- character(0)
  msgs <- character(0)
  value <- withCallingHandlers(expr,
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { msgs <<- c(msgs, sub("\n$", "", conditionMessage(m))); invokeRestart("muffleMessage") })
  list(value = value, warnings = warns, messages = msgs)
}

coefficient_fields <- function(fit, s) {
  cf <- coef(fit)
  nm <- names(cf)
  sc <- s$coefficients
  V <- vcov(fit, complete = FALSE)
  list(
    coef_names = json_str_array(nm),
    aliased = paste0("[", paste(ifelse(is.na(cf), "true", "false"), collapse = ", "), "]"),
    coefficients = json_num_array(unname(cf)),
    std_errors = json_num_array(unname(by_name(sc[, 2], nm))),
    statistic_name = json_str(colnames(sc)[3]),
    statistics = json_num_array(unname(by_name(sc[, 3], nm))),
    p_values = json_num_array(unname(by_name(sc[, 4], nm))),
    dispersion = json_num(s$dispersion),
    vcov_names = json_str_array(colnames(V)),
    vcov = json_matrix(unname(V)))
}

## ---- negative binomial ----------------------------------------------------------
#
# kind "glm.nb": MASS::glm.nb(formula, data, weights, link, init.theta) with the
#   default glm.control() (or glm.control(maxit = maxit)); summary() is
#   summary.negbin (dispersion 1, z tests).
#   Fitted twice: once quietly, once with control = glm.control(trace = 3) to
#   capture glm.nb's and theta.ml's trace messages (glm.fit's own "Deviance = "
#   lines go to standard output and are not recorded).
# kind "fixed": glm(formula, family = negative.binomial(theta, link)), R's
#   summary.glm (which estimates a dispersion for this family: t tests), plus the
#   summary with dispersion = 1 (z tests) as *_dispersion1.
# kind "error": glm.nb fails; the error message is recorded.

nb_cases <- list(
  list(id = "nb_quine_full", data = "Examples/quine.csv", formula = "Days ~ Sex/(Age + Eth*Lrn)", link = "log"),
  list(id = "nb_quine_main", data = "Examples/quine.csv", formula = "Days ~ Eth + Sex + Age + Lrn", link = "log"),
  list(id = "nb_quine_main_sqrt", data = "Examples/quine.csv", formula = "Days ~ Eth + Sex + Age + Lrn", link = "sqrt"),
  list(id = "nb_quine_init_theta", data = "Examples/quine.csv", formula = "Days ~ Eth + Sex + Age + Lrn", link = "log",
       init_theta = 1),
  list(id = "nb_quine_maxit3", data = "Examples/quine.csv", formula = "Days ~ Eth + Sex + Age + Lrn", link = "log",
       maxit = 3),
  list(id = "nb_quine_aliased", data = "Examples/quine.csv", formula = "Days ~ Age*Lrn", link = "log"),
  list(id = "nb_epil", data = "Examples/epil.csv", formula = "y ~ lbase*trt + lage + V4", link = "log"),
  list(id = "nb_epil_weighted", data = "Examples/epil.csv", formula = "y ~ trt + lbase", link = "log",
       weights = "period"),
  list(id = "nb_warpbreaks", data = "Examples/warpbreaks.csv", formula = "breaks ~ wool*tension", link = "log"),
  list(id = "nb_warpbreaks_identity", data = "Examples/warpbreaks.csv", formula = "breaks ~ wool + tension",
       link = "identity"),
  list(id = "nb_ships_offset", data = "Examples/ships.csv",
       formula = "incidents ~ type + factor(year) + factor(period) + offset(log(service))", link = "log"),
  list(id = "nb_insurance_offset", data = "Examples/insurance.csv",
       formula = "Claims ~ District + Group + Age + offset(log(Holders))", link = "log"),
  list(id = "nb_quine_identity_fails", data = "Examples/quine.csv", formula = "Days ~ Eth + Sex + Age + Lrn",
       link = "identity", kind = "error"),
  list(id = "nbfixed_quine", data = "Examples/quine.csv", formula = "Days ~ Eth + Sex + Age + Lrn", link = "log",
       kind = "fixed", theta = 1.5),
  list(id = "nbfixed_quine_sqrt", data = "Examples/quine.csv", formula = "Days ~ Eth + Sex + Age + Lrn",
       link = "sqrt", kind = "fixed", theta = 2),
  list(id = "nbfixed_ships_offset", data = "Examples/ships.csv",
       formula = "incidents ~ type + factor(year) + factor(period) + offset(log(service))", link = "log",
       kind = "fixed", theta = 10)
)

nb_call <- function(cs, d, trace = 0) {
  env <- new.env(parent = globalenv())
  assign("d", d, envir = env)
  fml <- as.formula(cs$formula, env = env)
  kind <- if (is.null(cs$kind)) "glm.nb" else cs$kind
  if (kind == "fixed") {
    cl <- call("glm", formula = fml, family = call("negative.binomial", theta = cs$theta, link = cs$link),
               data = quote(d))
  } else {
    cl <- call("glm.nb", formula = fml, data = quote(d), link = as.name(cs$link))
    if (!is.null(cs$init_theta)) cl$init.theta <- cs$init_theta
    if (trace > 0 || !is.null(cs$maxit)) {
      cl$control <- call("glm.control", maxit = if (is.null(cs$maxit)) 25 else cs$maxit, trace = trace)
    }
  }
  if (!is.null(cs$weights)) cl$weights <- as.name(cs$weights)
  list(call = cl, env = env)
}

nb_json <- function(cs) {
  d <- read_data(cs$data)
  kind <- if (is.null(cs$kind)) "glm.nb" else cs$kind
  base <- list(
    id = json_str(cs$id), kind = json_str(kind), data = json_str(cs$data), formula = json_str(cs$formula),
    link = json_str(cs$link), weights = if (is.null(cs$weights)) "null" else json_str(cs$weights),
    theta_fixed = if (is.null(cs$theta)) "null" else json_num(cs$theta),
    init_theta = if (is.null(cs$init_theta)) "null" else json_num(cs$init_theta),
    maxit = json_int(if (is.null(cs$maxit)) 25 else cs$maxit))
  nc <- nb_call(cs, d)
  if (kind == "error") {
    err <- tryCatch({ suppressWarnings(eval(nc$call, nc$env)); NA_character_ },
                    error = function(e) conditionMessage(e))
    if (is.na(err)) stop(cs$id, ": expected an error")
    return(json_object(c(base, list(error = json_str(err)))))
  }
  res <- collect(eval(nc$call, nc$env))
  fit <- res$value
  s <- summary(fit)
  fields <- c(base, coefficient_fields(fit, s), list(
    n_obs = json_int(nrow(fit$model)),
    deviance = json_num(fit$deviance),
    null_deviance = json_num(fit$null.deviance),
    df_residual = json_int(fit$df.residual),
    df_null = json_int(fit$df.null),
    rank = json_int(fit$rank),
    aic = json_num(AIC(fit)),
    bic = json_num(BIC(fit)),
    log_likelihood = json_num(as.numeric(logLik(fit))),
    log_likelihood_df = json_int(attr(logLik(fit), "df")),
    iterations = json_int(fit$iter),
    converged = json_bool(fit$converged),
    family_name = json_str(fit$family$family),
    fitted_values = json_num_array(first_n(fit$fitted.values)),
    working_weights = json_num_array(first_n(fit$weights)),
    warnings = json_str_array(unique(res$warnings))))
  if (kind == "glm.nb") {
    # glm.fit prints its own trace ("Deviance = ...") to standard output: discard it.
    traced <- NULL
    invisible(capture.output(traced <- collect(eval(nb_call(cs, d, trace = 3)$call, nc$env))))
    stopifnot(isTRUE(all.equal(traced$value$theta, fit$theta, tolerance = 0)))
    outer <- length(grep("^Theta\\(", traced$messages))
    fields <- c(fields, list(
      theta = json_num(fit$theta),
      theta_std_error = json_num(fit$SE.theta),
      two_log_likelihood = json_num(fit$twologlik),
      theta_warning = if (is.null(fit$th.warn)) "null" else json_str(fit$th.warn),
      outer_iterations = json_int(outer),
      call_init_theta = json_num(fit$call$init.theta),
      trace_messages = json_str_array(traced$messages)))
  } else {
    s1 <- summary(fit, dispersion = 1)
    c1 <- coefficient_fields(fit, s1)
    names(c1) <- paste0(names(c1), "_dispersion1")
    fields <- c(fields, c1[c("std_errors_dispersion1", "statistic_name_dispersion1", "statistics_dispersion1",
                             "p_values_dispersion1", "dispersion_dispersion1")])
  }
  json_object(fields)
}

nb_objs <- vapply(nb_cases, nb_json, "")
write_json_file(nb_objs, "negbin_reference.json")
cat(length(nb_objs), "negative binomial cases\n")

## ---- sandwich -------------------------------------------------------------------
#
# Each case fits glm(formula, family, data, weights) (or glm.nb when family is
# "negative-binomial"), then records vcovHC(fit, type) for HC0-HC3, hatvalues(fit)
# and, when `cluster` is set, vcovCL(fit, cluster = ~ <cluster>) with its default
# type (HC0 for glm), type = "HC1", and type = "HC0" with cadjust = FALSE.
# A cluster is never a variable whose levels have their own coefficients: the scores
# would sum to zero within each cluster and the covariance would be rounding noise.
# sw_mtcars_hat_one has two cars alone in their carb level (hat value 1): HC2/HC3 warn
# and are NaN (null), as in R.
# Also lmtest::coeftest(fit, vcov. = vcovHC(fit, "HC0")) to record that coeftest
# uses z tests (df = Inf) for every glm.

r_family <- c(gaussian = "gaussian", binomial = "binomial", poisson = "poisson", gamma = "Gamma",
              quasipoisson = "quasipoisson", quasibinomial = "quasibinomial")

# quine with a prior-weights column w holding zeros (1, 0, 2, 1 repeated), written
# next to this script. With zero weights R's hatvalues() has one value per row with
# non-zero weight while vcovHC's omega expects one per row, so HC2/HC3 recycle the hat
# values against the wrong rows (R warns "longer object length is not a multiple of
# shorter object length"): only HC0/HC1 and the clustered covariances are compared.
zw <- read_data("Examples/quine.csv")
zw$w <- rep(c(1, 0, 2, 1), length.out = nrow(zw))
write.csv(zw, file.path(refdir, "quine_zero_weights.csv"), row.names = FALSE)

sw_cases <- list(
  list(id = "sw_epil_poisson", data = "Examples/epil.csv", formula = "y ~ lbase*trt + lage + V4",
       family = "poisson", link = "log", cluster = "subject"),
  list(id = "sw_warpbreaks_poisson", data = "Examples/warpbreaks.csv", formula = "breaks ~ wool*tension",
       family = "poisson", link = "log"),
  list(id = "sw_warpbreaks_poisson_cluster", data = "Examples/warpbreaks.csv", formula = "breaks ~ wool",
       family = "poisson", link = "log", cluster = "tension"),
  list(id = "sw_warpbreaks_quasipoisson", data = "Examples/warpbreaks.csv", formula = "breaks ~ tension",
       family = "quasipoisson", link = "log", cluster = "wool"),
  list(id = "sw_budworm_cbind", data = "Examples/budworm.csv", formula = "cbind(numdead, 20 - numdead) ~ sex*ldose",
       family = "binomial", link = "logit"),
  list(id = "sw_menarche_weights", data = "Examples/menarche.csv", formula = "Menarche/Total ~ Age",
       family = "binomial", link = "logit", weights = "Total"),
  list(id = "sw_pima_missing", data = "Examples/pima_missing.csv", formula = "type ~ npreg + glu + bp + skin + bmi",
       family = "binomial", link = "logit", cluster = "age"),
  list(id = "sw_cats_gaussian", data = "Examples/cats.csv", formula = "Hwt ~ Bwt*Sex",
       family = "gaussian", link = "identity"),
  list(id = "sw_cats_gaussian_cluster", data = "Examples/cats.csv", formula = "Hwt ~ Bwt",
       family = "gaussian", link = "identity", cluster = "Sex"),
  list(id = "sw_mtcars_hat_one", data = "Examples/mtcars.csv", formula = "mpg ~ factor(carb)",
       family = "gaussian", link = "identity"),
  list(id = "sw_clotting_gamma", data = "Examples/clotting.csv", formula = "time ~ log(u)*lot",
       family = "gamma", link = "inverse"),
  list(id = "sw_quine_aliased", data = "Examples/quine.csv", formula = "Days ~ Age*Lrn",
       family = "poisson", link = "log", cluster = "Eth"),
  list(id = "sw_quine_zero_weights", data = "Tests/GLMCoreTests/Reference/quine_zero_weights.csv",
       formula = "Days ~ Eth + Age", family = "poisson", link = "log", weights = "w", cluster = "Lrn",
       types = c("HC0", "HC1")),
  list(id = "sw_epil_negbin", data = "Examples/epil.csv", formula = "y ~ lbase*trt + lage + V4",
       family = "negative-binomial", link = "log", cluster = "subject")
)

sw_json <- function(cs) {
  d <- read_data(cs$data)
  env <- new.env(parent = globalenv())
  assign("d", d, envir = env)
  fml <- as.formula(cs$formula, env = env)
  if (cs$family == "negative-binomial") {
    cl <- call("glm.nb", formula = fml, data = quote(d), link = as.name(cs$link))
  } else {
    cl <- call("glm", formula = fml, family = call(r_family[[cs$family]], link = cs$link), data = quote(d))
  }
  if (!is.null(cs$weights)) cl$weights <- as.name(cs$weights)
  fit <- collect(eval(cl, env))$value
  types <- c("HC0", "HC1", "HC2", "HC3")
  compared <- if (is.null(cs$types)) types else cs$types
  hc <- lapply(types, function(t) {
    r <- collect(vcovHC(fit, type = t))
    list(type = t, v = r$value, warnings = r$warnings)
  })
  ct <- lmtest::coeftest(fit, vcov. = vcovHC(fit, type = "HC0"))
  cf <- coef(fit)
  fields <- list(
    id = json_str(cs$id), data = json_str(cs$data), formula = json_str(cs$formula),
    family = json_str(cs$family), link = json_str(cs$link),
    weights = if (is.null(cs$weights)) "null" else json_str(cs$weights),
    cluster = if (is.null(cs$cluster)) "null" else json_str(cs$cluster),
    n_obs = json_int(nrow(model.matrix(fit))),
    compared_types = json_str_array(compared),
    coef_names = json_str_array(names(cf)),
    aliased = paste0("[", paste(ifelse(is.na(cf), "true", "false"), collapse = ", "), "]"),
    vcov_names = json_str_array(colnames(hc[[1]]$v)),
    hat_values = json_num_array(unname(hatvalues(fit))),
    coeftest_statistic_name = json_str(colnames(ct)[3]),
    coeftest_hc0_p_values = json_num_array(unname(ct[, 4])))
  vc <- list()
  for (h in hc) {
    vc[[paste0("vcov_", h$type)]] <- json_matrix(unname(h$v))
    vc[[paste0("warnings_", h$type)]] <- json_str_array(unique(h$warnings))
  }
  fields <- c(fields, vc)
  if (!is.null(cs$cluster)) {
    cf_cl <- as.formula(paste("~", cs$cluster), env = env)
    g <- length(unique(d[[cs$cluster]][as.integer(rownames(model.frame(fit)))]))
    fields <- c(fields, list(
      n_clusters = json_int(g),
      vcovCL_default = json_matrix(unname(vcovCL(fit, cluster = cf_cl))),
      vcovCL_HC1 = json_matrix(unname(vcovCL(fit, cluster = cf_cl, type = "HC1"))),
      vcovCL_HC0_no_cadjust = json_matrix(unname(vcovCL(fit, cluster = cf_cl, type = "HC0", cadjust = FALSE)))))
  }
  json_object(fields)
}

sw_objs <- vapply(sw_cases, sw_json, "")
write_json_file(sw_objs, "sandwich_reference.json")
cat(length(sw_objs), "sandwich cases\n")

## ---- dispersion test ------------------------------------------------------------
#
# AER::dispersiontest(fit, trafo, alternative) for poisson glm fits.

dt_cases <- list(
  list(id = "dt_quine", data = "Examples/quine.csv", formula = "Days ~ Eth + Sex + Age + Lrn"),
  list(id = "dt_epil", data = "Examples/epil.csv", formula = "y ~ lbase*trt + lage + V4"),
  list(id = "dt_warpbreaks", data = "Examples/warpbreaks.csv", formula = "breaks ~ wool + tension"),
  list(id = "dt_ships_offset", data = "Examples/ships.csv",
       formula = "incidents ~ type + factor(year) + factor(period) + offset(log(service))"),
  list(id = "dt_insectsprays", data = "Examples/insectsprays.csv", formula = "count ~ spray")
)
dt_tests <- list(
  list(trafo = NULL, alternative = "greater"),
  list(trafo = NULL, alternative = "two.sided"),
  list(trafo = NULL, alternative = "less"),
  list(trafo = 1, alternative = "greater"),
  list(trafo = 2, alternative = "greater"),
  list(trafo = 2, alternative = "two.sided"),
  list(trafo = 1.5, alternative = "greater")
)

dt_json <- function(cs) {
  d <- read_data(cs$data)
  fit <- glm(as.formula(cs$formula), family = poisson, data = d)
  tests <- vapply(dt_tests, function(t) {
    r <- dispersiontest(fit, trafo = t$trafo, alternative = t$alternative)
    json_object(list(
      trafo = if (is.null(t$trafo)) "null" else json_num(t$trafo),
      alternative = json_str(t$alternative),
      statistic = json_num(unname(r$statistic)),
      p_value = json_num(r$p.value),
      estimate = json_num(unname(r$estimate)),
      estimate_name = json_str(names(r$estimate)),
      null_value = json_num(unname(r$null.value)),
      method = json_str(r$method)), indent = "        ")
  }, "")
  json_object(list(
    id = json_str(cs$id), data = json_str(cs$data), formula = json_str(cs$formula),
    tests = paste0("[\n        ", paste(tests, collapse = ",\n        "), "\n      ]")))
}

dt_objs <- vapply(dt_cases, dt_json, "")
write_json_file(dt_objs, "dispersiontest_reference.json")
cat(length(dt_objs), "dispersion test cases\n")
