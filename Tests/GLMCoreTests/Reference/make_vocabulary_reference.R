#!/usr/bin/env Rscript
# Reference numbers for glmfit's expression language (issue 24): comparisons, logic,
# %in%, string and logical constants, elementwise and data-dependent functions, named
# arguments, --subset, and every link for every family. Each case is fitted by glm()
# on an Examples/ CSV read as glmfit reads it, under two collations: R's default here
# (C.UTF-8, i.e. ICU's root collation) and C (byte order).
#
# Usage (from the repository root):
#   Rscript Tests/GLMCoreTests/Reference/make_vocabulary_reference.R
# writes Tests/GLMCoreTests/Reference/vocabulary_reference.json.
#
# Predictions ("predict") are on the first 5 rows of the data, a set that is not the
# training set. For formulas with data-dependent calls (mean, sd, ...) R's predict()
# would recompute them on those rows; glmfit keeps the fit's values instead, so the
# reference fits the same model with the fit's values written into the formula
# (bquote) and predicts from that.

suppressPackageStartupMessages(library(jsonlite))

read_example <- function(file) read.csv(file.path("Examples", file), stringsAsFactors = FALSE)

cases <- list(
  list(id = "logical_predictor", data = "mtcars.csv", formula = "mpg ~ I(cyl == 4) + wt", family = "gaussian",
       predict = TRUE),
  list(id = "in_set", data = "mtcars.csv", formula = "mpg ~ I(cyl %in% c(4, 6)) + hp", family = "gaussian",
       predict = TRUE),
  list(id = "logic", data = "mtcars.csv", formula = "mpg ~ I(wt > 3 & hp < 150) + I(!(gear == 4) | am == 1)",
       family = "gaussian"),
  list(id = "bare_comparison", data = "mtcars.csv", formula = "mpg ~ wt + hp > 120 + TRUE", family = "gaussian"),
  list(id = "logical_response", data = "affairs.csv",
       formula = "I(affairs > 0) ~ gender + age + yearsmarried + children + religiousness + education + occupation + rating",
       family = "binomial"),
  list(id = "string_comparison", data = "affairs.csv",
       formula = "I(affairs > 0) ~ I(gender == \"male\") + I(children != 'no') + age + rating",
       family = "binomial", predict = TRUE),
  list(id = "origin_usa", data = "cars93.csv", formula = "I(Origin == \"USA\") ~ Price + MPG.city", family = "binomial"),
  list(id = "esoph_in_strings", data = "esoph.csv",
       formula = "cbind(ncases, ncontrols) ~ agegp + I(alcgp %in% c(\"80-119\", \"120+\"))", family = "binomial"),
  list(id = "warpbreaks_not_equal", data = "warpbreaks.csv", formula = "breaks ~ wool + I(tension != \"L\")",
       family = "poisson"),
  list(id = "birthwt_logic", data = "birthwt.csv", formula = "low ~ I(age > 25) + I(lwt < 110 | smoke == 1) + race",
       family = "binomial"),
  list(id = "na_or", data = "cars93.csv", formula = "Price ~ I(Luggage.room > 14 | MPG.city > 25) + Horsepower",
       family = "gaussian"),
  list(id = "na_and", data = "cars93.csv", formula = "Price ~ I(Luggage.room > 14 & MPG.city > 25) + Horsepower",
       family = "gaussian"),
  list(id = "centring", data = "mtcars.csv", formula = "mpg ~ I(wt - mean(wt)) + I((hp - mean(hp))/sd(hp))",
       family = "gaussian", predict = TRUE,
       fixed = "mpg ~ I(wt - .(mean(d$wt))) + I((hp - .(mean(d$hp)))/.(sd(d$hp)))"),
  list(id = "summaries", data = "mtcars.csv",
       formula = "mpg ~ I(hp > median(hp)) + I((wt - min(wt))/(max(wt) - min(wt))) + I(disp/sqrt(var(disp))) + I(qsec/sum(qsec) * length(qsec))",
       family = "gaussian", predict = TRUE,
       fixed = "mpg ~ I(hp > .(median(d$hp))) + I((wt - .(min(d$wt)))/(.(max(d$wt)) - .(min(d$wt)))) + I(disp/sqrt(.(var(d$disp)))) + I(qsec/.(sum(d$qsec)) * .(length(d$qsec)))"),
  list(id = "functions", data = "mtcars.csv",
       formula = "mpg ~ pmin(hp, 150) + pmax(wt, 3) + round(qsec, digits = 1) + floor(drat) + log(disp, base = 2)",
       family = "gaussian", predict = TRUE),
  list(id = "functions2", data = "mtcars.csv",
       formula = "mpg ~ ceiling(wt) + I(carb %% 2) + I(carb %/% 3) + ifelse(am == 1, hp, 0) + sqrt(hp) + abs(qsec - 18) + exp(-wt)",
       family = "gaussian", predict = TRUE),
  list(id = "positional_arguments", data = "mtcars.csv", formula = "mpg ~ log(hp, 10) + round(wt, 1) + signif(disp, 2)",
       family = "gaussian"),
  # Links R's family functions accept by name beyond the usual ones.
  list(id = "gaussian_log", data = "mtcars.csv", formula = "mpg ~ wt + hp", family = "gaussian", link = "log"),
  list(id = "gaussian_sqrt", data = "mtcars.csv", formula = "mpg ~ wt + hp", family = "gaussian", link = "sqrt"),
  list(id = "gamma_identity", data = "mtcars.csv", formula = "mpg ~ wt + hp", family = "Gamma", link = "identity"),
  list(id = "gamma_sqrt", data = "mtcars.csv", formula = "mpg ~ wt + hp", family = "Gamma", link = "sqrt"),
  list(id = "poisson_sqrt", data = "warpbreaks.csv", formula = "breaks ~ wool + tension", family = "poisson", link = "sqrt"),
  list(id = "poisson_inverse", data = "warpbreaks.csv", formula = "breaks ~ wool + tension", family = "poisson",
       link = "inverse"),
  list(id = "quasipoisson_identity", data = "warpbreaks.csv", formula = "breaks ~ wool + tension",
       family = "quasipoisson", link = "identity"),
  list(id = "binomial_identity", data = "birthwt.csv", formula = "low ~ smoke + ht + ui", family = "binomial",
       link = "identity"),
  # (binomial log on "low ~ smoke + ht + ui" fails in R: "no valid set of coefficients has
  # been found: please supply starting values"; glmfit's error test checks the same words.)
  list(id = "binomial_log", data = "birthwt.csv", formula = "low ~ age", family = "binomial", link = "log"),
  list(id = "esoph_log", data = "esoph.csv", formula = "cbind(ncases, ncontrols) ~ agegp", family = "binomial",
       link = "log"),
  list(id = "esoph_identity", data = "esoph.csv", formula = "cbind(ncases, ncontrols) ~ agegp", family = "binomial",
       link = "identity"),
  list(id = "quasibinomial_identity", data = "birthwt.csv", formula = "low ~ smoke + ht", family = "quasibinomial",
       link = "identity"),
  list(id = "inverse_gaussian_log", data = "mtcars.csv", formula = "mpg ~ wt + hp", family = "inverse.gaussian",
       link = "log"),
  # --subset: evaluated on every row after the variables (mean over all rows), NA rows as missing.
  list(id = "subset_numeric", data = "mtcars.csv", formula = "mpg ~ wt + hp", family = "gaussian",
       subset = "cyl != 8 & am == 1"),
  list(id = "subset_text", data = "cars93.csv", formula = "Price ~ MPG.city + Horsepower", family = "gaussian",
       subset = "Origin == 'USA' & Type %in% c(\"Small\", \"Compact\", \"Midsize\")"),
  list(id = "subset_na", data = "cars93.csv", formula = "Price ~ MPG.city + Horsepower", family = "gaussian",
       subset = "Luggage.room > 12"),
  list(id = "subset_mean", data = "mtcars.csv", formula = "mpg ~ I(wt - mean(wt))", family = "gaussian",
       subset = "am == 1"),
  list(id = "subset_binomial", data = "birthwt.csv", formula = "low ~ age + lwt + smoke", family = "binomial",
       subset = "race == 1 | ht == 1")
)

family_object <- function(case) {
  f <- get(case$family, mode = "function")
  if (is.null(case$link)) f() else f(link = case$link)
}

run <- function(case, collation) {
  Sys.setlocale("LC_COLLATE", collation)
  d <- read_example(case$data)
  args <- list(formula = as.formula(case$formula), family = family_object(case), data = d)
  if (!is.null(case$subset)) args$subset <- str2lang(case$subset)
  fit <- do.call("glm", args)
  co <- summary(fit)$coefficients
  est <- coef(fit)
  se <- rep(NA_real_, length(est)); names(se) <- names(est)
  se[rownames(co)] <- co[, 2]
  out <- list(
    id = case$id, collation = collation, data = case$data, formula = case$formula, family = case$family,
    link = fit$family$link, subset = if (is.null(case$subset)) NA else case$subset,
    coefficients = lapply(seq_along(est), function(i) list(name = names(est)[i],
      estimate = unname(est[i]), std_error = unname(se[i]))),
    deviance = fit$deviance, null_deviance = fit$null.deviance, aic = fit$aic,
    df_residual = fit$df.residual, n_obs = nobs(fit),
    n_dropped = if (is.null(fit$na.action)) 0L else length(fit$na.action),
    iterations = fit$iter)
  if (isTRUE(case$predict)) {
    pfit <- fit
    if (!is.null(case$fixed)) {
      fixed <- eval(bquote(bquote(.(str2lang(case$fixed)))))
      pfit <- glm(eval(fixed), family = family_object(case), data = d)
      stopifnot(all.equal(unname(coef(pfit)), unname(coef(fit)), tolerance = 1e-12))
    }
    out$predict_rows <- 5L
    out$predictions <- unname(predict(pfit, newdata = head(d, 5), type = "link"))
  }
  out
}

results <- list()
for (collation in c("C.UTF-8", "C")) for (case in cases) results[[length(results) + 1]] <- run(case, collation)
writeLines(toJSON(results, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "Tests/GLMCoreTests/Reference/vocabulary_reference.json")
cat(length(results), "cases\n")
