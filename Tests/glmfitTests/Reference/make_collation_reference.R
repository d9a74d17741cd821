#!/usr/bin/env Rscript
# R's numbers for glmfit's level-order tests (issue 24): each model fitted by glm()
# on the CSV read back with read.csv(stringsAsFactors = TRUE), as glmfit reads it,
# under three collation environments:
#   C            LC_ALL=C: byte order (R's Scollate uses strcmp)
#   C.UTF-8      LC_ALL=C.UTF-8: ICU's collator, root rules
#   sv_SE        LC_ALL=C.UTF-8 with R_ICU_LOCALE=sv_SE (a tailored collation: level
#                orders only, for the unit tests)
#   en_US.UTF-8  LANG=en_US.UTF-8: ICU's collator for en_US (root rules too); the
#                locale is compiled with localedef into a temporary LOCPATH when the
#                machine does not have it (R falls back to C without it)
# R fixes its collation at the first comparison, so each environment is a fresh R.
# glmfit's tests run the binary under the same variables (en_US as LC_ALL=C.UTF-8
# with R_ICU_LOCALE=en_US, which needs no compiled locale and gives the same ICU
# collator).
#
# Usage (repository root): Rscript Tests/glmfitTests/Reference/make_collation_reference.R
# Writes Tests/glmfitTests/Reference/collation_reference.json. R 4.2.2, MASS.

args <- commandArgs(trailingOnly = TRUE)
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
outdir <- dirname(normalizePath(self))

# One model: glmfit's formula, family, --ref values; R's formula applies relevel().
cases <- list(
  list(id = "cars93_origin_binomial", data = "Examples/cars93.csv", family = "binomial",
       formula = "Origin ~ Price + MPG.city", ref = list()),
  list(id = "cars93_origin_binomial_ref_usa", data = "Examples/cars93.csv", family = "binomial",
       formula = "Origin ~ Price + MPG.city", ref = list(Origin = "USA")),
  list(id = "cars93_price_type_airbags", data = "Examples/cars93.csv", family = "gaussian",
       formula = "Price ~ Type + AirBags", ref = list()),
  list(id = "cars93_price_type_airbags_ref", data = "Examples/cars93.csv", family = "gaussian",
       formula = "Price ~ Type + AirBags", ref = list(Type = "Small", AirBags = "None")),
  list(id = "cars93_logprice_origin_drivetrain", data = "Examples/cars93.csv", family = "gaussian",
       formula = "log(Price) ~ Origin * DriveTrain + Horsepower", ref = list()),
  list(id = "cars93_mpg_gamma_missing", data = "Examples/cars93.csv", family = "gamma",
       formula = "MPG.city ~ Origin + Man.trans.avail + Luggage.room", ref = list()),
  list(id = "insurance_claims_poisson", data = "Examples/insurance.csv", family = "poisson",
       formula = "Claims ~ factor(District) + Group + Age + offset(log(Holders))", ref = list()),
  list(id = "insurance_claims_poisson_ref", data = "Examples/insurance.csv", family = "poisson",
       formula = "Claims ~ factor(District) + Group + Age + offset(log(Holders))",
       ref = list(District = "4", Age = ">35")),
  list(id = "mtcars_labels_gaussian", data = "Examples/mtcars_labels.csv", family = "gaussian",
       formula = "mpg ~ wt + cylinders + gearbox + gears", ref = list()),
  list(id = "mtcars_labels_engine_binomial", data = "Examples/mtcars_labels.csv", family = "binomial",
       formula = "engine ~ mpg", ref = list()),
  list(id = "mtcars_labels_gearbox_binomial", data = "Examples/mtcars_labels.csv", family = "binomial",
       formula = "gearbox ~ hp + wt", ref = list()),
  list(id = "mtcars_labels_carb_poisson_ref", data = "Examples/mtcars_labels.csv", family = "poisson",
       formula = "carb ~ gears + engine", ref = list(gears = "sport", engine = "straight"))
)

# Labels whose order differs between collations, for the unit tests of the sort itself:
# case, punctuation, symbols, digits, spaces, accents, a Swedish letter, CJK, an emoji.
labels <- c("USA", "non-USA", "<1l", "1-1.5l", "1.5-2l", ">2l", "apple", "Apple", "APPLE", "b", "B",
            "_x", "-x", "x", "\u00e9t\u00e9", "ete", "\u00c9t\u00e9", "f", "Zebra", "zebra", "a-b", "ab",
            "a b", "10", "9", "2", "\u00e4", "z", "\u00e5", "o", "\u00f6", "\u65e5\u672c", "\U0001F600",
            "#1", "(a)", "[a]", "a.b", "a_b", "\u22658 cyl", "<6 cyl", "6 cyl")

fit_all <- function(collation) {
  family_of <- function(name) switch(name, gaussian = gaussian(), binomial = binomial(),
                                     poisson = poisson(), gamma = Gamma(link = "inverse"))
  lapply(cases, function(case) {
    d <- read.csv(case$data, stringsAsFactors = TRUE, na.strings = c("NA", "", "NaN"))
    for (column in names(case$ref)) {
      if (is.factor(d[[column]])) d[[column]] <- relevel(d[[column]], ref = case$ref[[column]])
    }
    formula <- case$formula
    # A numeric column made a factor in the formula is releveled there.
    for (column in names(case$ref)) {
      if (!is.factor(d[[column]])) {
        formula <- sub(sprintf("factor(%s)", column),
                       sprintf("relevel(factor(%s), ref = \"%s\")", column, case$ref[[column]]),
                       formula, fixed = TRUE)
      }
    }
    fit <- glm(as.formula(formula), family = family_of(case$family), data = d)
    s <- summary(fit)
    coefs <- coef(fit)
    se <- rep(NA_real_, length(coefs)); names(se) <- names(coefs)
    se[rownames(s$coefficients)] <- s$coefficients[, 2]
    mf <- model.frame(fit)
    factor_levels <- lapply(Filter(is.factor, as.list(mf[-1])), levels)
    # Names as glmfit labels its variables (R's own, but factor(x) for a releveled one).
    names(factor_levels) <- sub("^relevel\\(factor\\(([^)]*)\\), ref = .*\\)$", "factor(\\1)", names(factor_levels))
    response <- mf[[1]]
    list(id = case$id, collation = collation, data = case$data, formula = case$formula,
         family = case$family, ref = I(sprintf("%s=%s", names(case$ref), unlist(case$ref))),
         icu = icuGetCollate(),
         coef_names = sub("^relevel\\(factor\\(([^)]*)\\), ref = [^)]*\\)", "factor(\\1)", names(coefs)),
         coefficients = unname(coefs), std_errors = unname(se),
         deviance = deviance(fit), null_deviance = fit$null.deviance, aic = fit$aic,
         factors = lapply(names(factor_levels), function(n) list(variable = n, levels = factor_levels[[n]])),
         response_levels = if (is.factor(response)) levels(response) else NULL)
  })
}

if (length(args) == 1 && args[1] == "--one") {
  # One environment: print this R's results as JSON on standard output.
  collation <- Sys.getenv("GLMFIT_COLLATION")
  # Under LC_ALL=C, read.csv leaves the (UTF-8) bytes unmarked, and they sort as bytes;
  # mark them as UTF-8 only now, for the JSON, after the fits.
  as_utf8 <- function(x) {
    if (is.list(x)) return(lapply(x, as_utf8))
    if (is.character(x)) Encoding(x) <- "UTF-8"
    x
  }
  # The labels read back from a CSV file, as glmfit reads them.
  file <- tempfile(fileext = ".csv")
  writeLines(enc2utf8(c("label", labels)), file, useBytes = TRUE)
  read <- read.csv(file, stringsAsFactors = TRUE)$label
  # Two spellings ICU collates equal (é composed and decomposed), in either order of first
  # appearance: R's order() keeps them in that order.
  composed <- "\u00e9t\u00e9"
  decomposed <- "e\u0301te\u0301"
  # (Read back from a file as above: under C an R string literal would be translated.)
  read_levels <- function(values) {
    writeLines(enc2utf8(c("label", values)), file, useBytes = TRUE)
    levels(read.csv(file, stringsAsFactors = TRUE)$label)
  }
  ties <- lapply(list(c("f", decomposed, "a", composed), c("f", composed, "a", decomposed)),
                 function(input) list(input = input, levels = read_levels(input)))
  order <- list(collation = collation, icu = icuGetCollate(), labels = labels, levels = levels(read), ties = ties)
  json <- jsonlite::toJSON(as_utf8(list(fits = fit_all(collation), order = order)), auto_unbox = TRUE, digits = NA, null = "null", na = "null")
  writeLines(json, stdout(), useBytes = TRUE)  # the UTF-8 bytes, not the C locale's escapes
  quit(status = 0)
}

locpath <- file.path(tempdir(), "locales")
dir.create(locpath, showWarnings = FALSE)
system2("localedef", c("-i", "en_US", "-f", "UTF-8", file.path(locpath, "en_US.UTF-8")))
environments <- list(
  "C" = c("LC_ALL=C"),
  "sv_SE" = c("LC_ALL=C.UTF-8", "R_ICU_LOCALE=sv_SE"),
  "C.UTF-8" = c("LC_ALL=C.UTF-8"),
  "en_US.UTF-8" = c(paste0("LOCPATH=", locpath), "LC_ALL=", "LC_COLLATE=", "LANG=en_US.UTF-8")
)
results <- list()
orders <- list()
for (name in names(environments)) {
  env <- c(environments[[name]], paste0("GLMFIT_COLLATION=", name))
  out <- system2("env", c("-u", "LC_ALL", "-u", "LC_COLLATE", "-u", "LANG", "-u", "R_ICU_LOCALE", env,
                          "Rscript", self, "--one"), stdout = TRUE)
  part <- jsonlite::fromJSON(paste(out, collapse = ""), simplifyVector = FALSE)
  stopifnot(length(part$fits) == length(cases))
  orders <- c(orders, list(part$order))
  if (name != "sv_SE") results <- c(results, part$fits)
}
# The three environments must really differ where the labels do.
origin <- Filter(function(r) r$id == "cars93_origin_binomial", results)
stopifnot(origin[[1]]$response_levels[[1]] == "USA", origin[[2]]$response_levels[[1]] == "non-USA",
          origin[[3]]$response_levels[[1]] == "non-USA",
          origin[[3]]$icu == "root")
writeLines(jsonlite::toJSON(list(fits = results, level_orders = orders), auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
           file.path(outdir, "collation_reference.json"))
cat("wrote", length(results), "fits to", file.path(outdir, "collation_reference.json"), "\n")
