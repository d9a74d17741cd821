# Columns scaled by 1e160 and 1e-210: R's QR (dqrdc2) compares each column's remaining norm
# with its own original norm, so it estimates them; glmfit must too (issue 23).
# Where both scales are in one model, chol2inv's products under- and overflow in R as in
# glmfit (standard errors 0 and Inf): only the estimates are meaningful there.
# Run from the repository root:  Rscript Tests/GLMCoreTests/Reference/scaled/make_scaled_reference.R
suppressMessages(library(MASS))
dir <- "Tests/GLMCoreTests/Reference/scaled"
fmt <- function(x) ifelse(is.finite(x), sprintf("%.17g", x), "null")

mtcars_scaled <- read.csv("Examples/mtcars.csv")
mtcars_scaled$hpBig <- mtcars_scaled$hp * 1e160
mtcars_scaled$qsecTiny <- mtcars_scaled$qsec * 1e-210
mtcars_scaled <- mtcars_scaled[, c("mpg", "wt", "hpBig", "qsecTiny", "carb", "vs", "am")]
write.csv(mtcars_scaled, file.path(dir, "mtcars_scaled.csv"), row.names = FALSE)

epil_scaled <- read.csv("Examples/epil.csv")
epil_scaled$lbaseBig <- epil_scaled$lbase * 1e160
epil_scaled$lageTiny <- epil_scaled$lage * 1e-210
epil_scaled <- epil_scaled[, c("y", "trt", "lbaseBig", "lageTiny")]
write.csv(epil_scaled, file.path(dir, "epil_scaled.csv"), row.names = FALSE)

cases <- list(
  list(id = "gaussian", data = "mtcars_scaled.csv", formula = "mpg ~ wt + hpBig + qsecTiny", family = "gaussian"),
  list(id = "gaussian_big", data = "mtcars_scaled.csv", formula = "mpg ~ wt + hpBig", family = "gaussian"),
  list(id = "poisson", data = "mtcars_scaled.csv", formula = "carb ~ wt + hpBig + qsecTiny", family = "poisson"),
  list(id = "binomial", data = "mtcars_scaled.csv", formula = "vs ~ wt + hpBig", family = "binomial"),
  list(id = "negbin", data = "epil_scaled.csv", formula = "y ~ trt + lbaseBig + lageTiny", family = "negative-binomial")
)
out <- c("{", '  "r_version": "', R.version.string, '",', '  "cases": [')
out <- paste0(out[1], "\n", paste0(out[2:4], collapse = ""), "\n", out[5])
entries <- character()
for (case in cases) {
  d <- read.csv(file.path(dir, case$data))
  fit <- if (case$family == "negative-binomial") glm.nb(as.formula(case$formula), data = d)
         else glm(as.formula(case$formula), data = d, family = get(case$family))
  s <- summary(fit)
  se <- sqrt(diag(vcov(fit)))
  entries <- c(entries, paste0(
    '    {"id": "', case$id, '", "data": "', case$data, '", "formula": "', case$formula,
    '", "family": "', case$family, '",\n',
    '     "coef_names": [', paste0('"', names(coef(fit)), '"', collapse = ", "), '],\n',
    '     "coefficients": [', paste(fmt(coef(fit)), collapse = ", "), '],\n',
    '     "std_errors": [', paste(fmt(se), collapse = ", "), '],\n',
    '     "rank": ', fit$rank, ', "deviance": ', fmt(deviance(fit)), ', "null_deviance": ', fmt(fit$null.deviance),
    ', "aic": ', fmt(AIC(fit)), '}'))
}
writeLines(c(out, paste(entries, collapse = ",\n"), "  ]", "}"), file.path(dir, "scaled_reference.json"))
for (case in cases) {
  d <- read.csv(file.path(dir, case$data))
  fit <- if (case$family == "negative-binomial") glm.nb(as.formula(case$formula), data = d)
         else glm(as.formula(case$formula), data = d, family = get(case$family))
  cat("==", case$id, "\n"); print(coef(summary(fit)))
}
