#!/usr/bin/env Rscript
# Reference numbers for glmfit's prediction and per-observation diagnostics:
# predict.glm(se.fit = TRUE) on new data (link and response scales), residuals.glm of
# every type, hatvalues, cooks.distance and rstandard, computed with R's own functions.
#
# Writes, next to this script:
#   prediction_data/<id>.csv     the new data each model predicts on (derived from the
#                                training data: other rows, another order, changed offsets,
#                                new covariate values, a pass-through text column `note`
#                                with commas and quotes)
#   prediction_reference.json    the numbers (schema in README.md)
#
# Usage: Rscript Tests/GLMCoreTests/Reference/make_prediction_reference.R
# Needs R (>= 4.2) with MASS. JSON is written by hand: numbers with sprintf("%.17g"),
# so each parses to exactly R's double; NA, NaN and +-Inf are null.

invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages(library(MASS))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
refdir <- dirname(normalizePath(script))
root <- normalizePath(file.path(refdir, "..", "..", ".."))
datadir <- file.path(refdir, "prediction_data")
dir.create(datadir, showWarnings = FALSE)

read_data <- function(rel) read.csv(file.path(root, rel), stringsAsFactors = TRUE,
                                    na.strings = c("NA", "", "NaN"))
read_plain <- function(rel) read.csv(file.path(root, rel), stringsAsFactors = FALSE,
                                     na.strings = c("NA", "", "NaN"))

## ---- minimal JSON writer ---------------------------------------------------

json_str <- function(s) {
  if (length(s) != 1 || is.na(s)) return("null")
  s <- enc2utf8(as.character(s))
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  paste0("\"", s, "\"")
}
json_num <- function(x) {
  if (is.na(x) || !is.finite(x)) return("null")
  if (is.integer(x)) return(as.character(x))
  sprintf("%.17g", x)
}
json_num_array <- function(x) paste0("[", paste(vapply(as.list(unname(x)), json_num, ""), collapse = ", "), "]")
json_str_array <- function(x) paste0("[", paste(vapply(as.list(x), json_str, ""), collapse = ", "), "]")
json_object <- function(fields, indent = "    ") {
  body <- paste0(indent, "  ", vapply(names(fields), json_str, ""), ": ", unlist(fields))
  paste0("{\n", paste(body, collapse = ",\n"), "\n", indent, "}")
}

## ---- new data ----------------------------------------------------------------

notes <- c("plain", "with, comma", "say \"hi\"", "", "x,y,\"z\"", "tab\there", "last")
with_note <- function(d) {
  d$note <- rep_len(notes, nrow(d))
  d
}
write_new <- function(d, id) {
  path <- file.path(datadir, paste0(id, ".csv"))
  write.csv(d, path, row.names = FALSE)
  file.path("Tests", "GLMCoreTests", "Reference", "prediction_data", paste0(id, ".csv"))
}

new_data <- list(
  # Another order, some rows only, and every offset changed.
  ships_offset = function() {
    d <- read_plain("Examples/ships.csv")[c(34, 3, 20, 11, 27, 6, 15, 1, 30), ]
    d$service <- d$service * 2 + 5
    d$incidents <- NULL
    with_note(d)
  },
  insurance_offset = function() {
    d <- read_plain("Examples/insurance.csv")[c(64, 2, 33, 17, 48, 9, 56, 25), ]
    d$Holders <- round(d$Holders * 1.5) + 3
    d$Claims <- NULL
    with_note(d)
  },
  warpbreaks_interaction = function() {
    d <- read_plain("Examples/warpbreaks.csv")[c(54, 1, 28, 10, 37, 19, 46, 30), ]
    d$breaks <- NULL
    with_note(d)
  },
  budworm_interaction = function() {
    d <- data.frame(ldose = c(0.5, 2.25, 4.75, 3, 1.1, 5.5), sex = c("M", "F", "F", "M", "F", "M"))
    with_note(d)
  },
  menarche_weights = function() {
    with_note(data.frame(Age = c(15.5, 9.9, 12.3, 13.05, 17.8)))
  },
  leuk_gamma_log = function() {
    d <- data.frame(wbc = c(1500, 42000, 9000, 100000, 650), ag = c("absent", "present", "present", "absent", "present"))
    with_note(d)
  },
  clotting_gamma_inverse = function() {
    d <- data.frame(u = c(12, 7, 95, 33), lot = c("lot2", "lot1", "lot1", "lot2"))
    with_note(d)
  },
  cats_aliased = function() {
    d <- read_plain("Examples/cats.csv")[c(144, 3, 77, 50, 101), ]
    d$Hwt <- NULL
    d$Bwt <- d$Bwt + 0.05
    with_note(d)
  },
  # Missing values in a used column (NA predictions with na.pass) and in an unused one.
  pima_missing = function() {
    d <- read_plain("Examples/pima_missing.csv")[c(250, 7, 120, 33, 299, 61), ]
    d$glu[3] <- NA
    d$skin[1] <- NA
    d$type <- NULL
    with_note(d)
  },
  zero_weights_gamma = function() {
    d <- read_plain("Tests/GLMCoreTests/Reference/edge_data/cats_edge.csv")[c(20, 10, 140, 71), c("Sex", "Bwt")]
    with_note(d)
  },
  zero_weights_binomial = function() {
    with_note(data.frame(Age = c(10.58, 12, 14.4)))
  },
  quine_negbin = function() {
    d <- read_plain("Examples/quine.csv")[c(146, 1, 73, 40, 111, 20), ]
    d$Days <- NULL
    with_note(d)
  }
)

## ---- cases ---------------------------------------------------------------------

cases <- list(
  list(id = "ships_offset", data = "Examples/ships.csv",
       formula = "incidents ~ type + factor(year) + factor(period) + offset(log(service))",
       family = "poisson", link = "log", weights = ""),
  list(id = "insurance_offset", data = "Examples/insurance.csv",
       formula = "Claims ~ District + Group + Age + offset(log(Holders))",
       family = "poisson", link = "log", weights = ""),
  list(id = "warpbreaks_interaction", data = "Examples/warpbreaks.csv",
       formula = "breaks ~ wool * tension", family = "quasipoisson", link = "log", weights = ""),
  list(id = "budworm_interaction", data = "Examples/budworm.csv",
       formula = "cbind(numdead, 20 - numdead) ~ sex * ldose", family = "binomial", link = "logit", weights = ""),
  list(id = "menarche_weights", data = "Examples/menarche.csv",
       formula = "Menarche/Total ~ Age", family = "binomial", link = "logit", weights = "Total"),
  list(id = "leuk_gamma_log", data = "Examples/leuk.csv",
       formula = "time ~ log(wbc) + ag", family = "gamma", link = "log", weights = ""),
  list(id = "clotting_gamma_inverse", data = "Examples/clotting.csv",
       formula = "time ~ log(u) * lot", family = "gamma", link = "inverse", weights = ""),
  list(id = "cats_aliased", data = "Examples/cats.csv",
       formula = "Hwt ~ Bwt + I(2*Bwt) + Sex", family = "gaussian", link = "identity", weights = ""),
  list(id = "pima_missing", data = "Examples/pima_missing.csv",
       formula = "type ~ npreg + glu + bmi + age", family = "binomial", link = "logit", weights = ""),
  list(id = "zero_weights_gamma", data = "Tests/GLMCoreTests/Reference/edge_data/cats_edge.csv",
       formula = "Hwt ~ Bwt + Sex", family = "gamma", link = "log", weights = "w"),
  list(id = "zero_weights_binomial", data = "Tests/GLMCoreTests/Reference/edge_data/menarche_zero_weights.csv",
       formula = "Menarche/Total ~ Age", family = "binomial", link = "logit", weights = "Total0"),
  list(id = "quine_negbin", data = "Examples/quine.csv",
       formula = "Days ~ Eth + Sex + Age + Lrn", family = "negative-binomial", link = "log", weights = "")
)

r_family <- c(gaussian = "gaussian", binomial = "binomial", poisson = "poisson",
              gamma = "Gamma", "inverse-gaussian" = "inverse.gaussian",
              quasipoisson = "quasipoisson", quasibinomial = "quasibinomial")

fit_case <- function(cs, d) {
  fml <- as.formula(cs$formula)
  if (cs$family == "negative-binomial") {
    return(glm.nb(fml, data = d, link = log))
  }
  fam <- get(r_family[[cs$family]])(link = cs$link)
  if (nzchar(cs$weights)) {
    d$.w <- d[[cs$weights]]
    glm(fml, family = fam, data = d, weights = .w)
  } else {
    glm(fml, family = fam, data = d)
  }
}

# Values of a vector named by table row, placed at `rows` (NA where absent).
at_rows <- function(values, rows) {
  out <- rep(NA_real_, length(rows))
  hit <- match(names(values), as.character(rows))
  out[hit] <- unname(values)
  out
}

objs <- character(0)
for (cs in cases) {
  d <- read_data(cs$data)
  fit <- fit_case(cs, d)
  stopifnot(fit$converged)
  rows <- as.integer(names(fitted(fit)))          # 1-based table rows used
  level <- 0.95
  z <- qnorm((1 + level) / 2)

  nd <- new_data[[cs$id]]()
  nd_path <- write_new(nd, cs$id)
  nd_read <- read_data(nd_path)
  warns <- character(0)
  quietly <- function(expr) withCallingHandlers(expr, warning = function(w) {
    warns <<- unique(c(warns, conditionMessage(w)))
    invokeRestart("muffleWarning")
  })
  pl <- quietly(predict(fit, newdata = nd_read, type = "link", se.fit = TRUE))
  pr <- quietly(predict(fit, newdata = nd_read, type = "response", se.fit = TRUE))
  # R gives no intervals for glm: the link-scale Wald interval, mapped by the inverse link.
  lo_link <- pl$fit - z * pl$se.fit
  hi_link <- pl$fit + z * pl$se.fit
  inv <- family(fit)$linkinv
  lo_resp <- pmin(inv(lo_link), inv(hi_link))
  hi_resp <- pmax(inv(lo_link), inv(hi_link))
  # On the training data too (no newdata): the fitted values and linear predictors.
  pt <- predict(fit, type = "link", se.fit = TRUE)

  fields <- list(
    id = json_str(cs$id), data = json_str(cs$data), formula = json_str(cs$formula),
    family = json_str(cs$family), link = json_str(cs$link),
    weights = if (nzchar(cs$weights)) json_str(cs$weights) else "null",
    newdata = json_str(nd_path),
    n_rows = json_num(nrow(d)),
    used_rows = json_num_array(rows),
    dispersion = json_num(summary(fit)$dispersion),
    theta = json_num(if (is.null(fit$theta)) NA_real_ else fit$theta),
    y = json_num_array(fit$y),
    fitted = json_num_array(fitted(fit)),
    linear_predictor = json_num_array(fit$linear.predictors),
    prior_weights = json_num_array(fit$prior.weights),
    resid_deviance = json_num_array(residuals(fit, type = "deviance")),
    resid_pearson = json_num_array(residuals(fit, type = "pearson")),
    resid_working = json_num_array(residuals(fit, type = "working")),
    resid_response = json_num_array(residuals(fit, type = "response")),
    hat = json_num_array(at_rows(hatvalues(fit), rows)),
    cooks_distance = json_num_array(at_rows(cooks.distance(fit), rows)),
    rstandard = json_num_array(at_rows(rstandard(fit), rows)),
    train_se_link = json_num_array(pt$se.fit),
    new_rows = json_num(nrow(nd_read)),
    predict_warnings = json_str_array(warns),
    residual_scale = json_num(pl$residual.scale),
    link_fit = json_num_array(pl$fit),
    link_se = json_num_array(pl$se.fit),
    response_fit = json_num_array(pr$fit),
    response_se = json_num_array(pr$se.fit),
    conf_level = json_num(level),
    link_conf_low = json_num_array(lo_link),
    link_conf_high = json_num_array(hi_link),
    response_conf_low = json_num_array(lo_resp),
    response_conf_high = json_num_array(hi_resp)
  )
  objs <- c(objs, json_object(fields))
  cat(sprintf("%-24s n=%3d used=%3d new=%2d %s\n", cs$id, nrow(d), length(rows), nrow(nd_read),
              paste(warns, collapse = "; ")))
}

out <- c("{",
         paste0("  \"r_version\": ", json_str(R.version.string), ","),
         paste0("  \"mass_version\": ", json_str(as.character(packageVersion("MASS"))), ","),
         "  \"cases\": [",
         paste0("    ", paste(objs, collapse = ",\n    ")),
         "  ]", "}")
writeLines(out, file.path(refdir, "prediction_reference.json"), useBytes = TRUE)
