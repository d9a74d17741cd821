## Produces rformat_reference.json, the fixture for Tests/GLMCoreTests/RFormatTests.swift.
##
## Run from this directory with R 4.2.x in a UTF-8 locale (the significance legend
## uses curly quotes there):
##     LC_ALL=C.UTF-8 Rscript make_rformat_reference.R
##
## Every double is written as a string: "%.17g" (round-trips exactly), or one of
## "NA", "NaN", "Inf", "-Inf". The Swift tests never run R; they read the JSON.

suppressPackageStartupMessages({
    library(MASS)
    library(jsonlite)
})
stopifnot(l10n_info()[["UTF-8"]])
options(digits = 7, scipen = 0, width = 80, OutDec = ".", show.signif.stars = TRUE)

num <- function(x) {
    vapply(x, function(v) {
        if (is.na(v) && !is.nan(v)) "NA"
        else if (is.nan(v)) "NaN"
        else if (v == Inf) "Inf"
        else if (v == -Inf) "-Inf"
        else sprintf("%.17g", v)
    }, "", USE.NAMES = FALSE)
}

## ---------------------------------------------------------------- format()

format_cases <- list()
add_format <- function(x, digits, nsmall = 0L) {
    x <- as.double(x)
    format_cases[[length(format_cases) + 1L]] <<- list(
        x = I(num(x)), digits = digits, nsmall = nsmall,
        out = I(format(x, digits = digits, nsmall = nsmall)))
}

scalars <- c(
    0, -0, 1, -1, 2, 10, 100, 1000, 1e4, 1e5, 1e6, 1e15, 1e16, 1e22, 1e23, 1e100,
    0.1, 0.15, 0.25, 0.5, 2.5, -2.5, 2.675, 99.995, 9.9996, 9.99996, 0.99999, 0.999999,
    0.00012345, 123456789, 1234567890123, 1e-300, 5e-324, 2.225073858507201e-308,
    .Machine$double.xmax, .Machine$double.eps, 1e-5, 1e-4, 0.001, 1e-15, 3e-8,
    1/3, 2/3, -1/3, pi, exp(1), 100 * pi, pi / 1e6, 123456.7, 0.1 + 0.2, 1 - 1e-16,
    999999.5, 9999999, 99999.99, 1234.5678, 0.0001234, 0.00001234, 12.345, 1.005,
    0.285, 1.0049999999, 5.55, 0.045, 1e-20, 7e-17, 4.9e-324, 1.7976931348623157e308,
    123.456, -0.000987654, 6.02214076e23, 1.602176634e-19, 299792458, 0.3, 0.7,
    95.5, 99.5, 999.5, 9.5, 0.95, 0.995, 0.9995, 0.09995, 1e-310)
for (d in c(1, 2, 3, 4, 5, 6, 7, 8, 10, 15, 16, 17, 22))
    for (s in scalars) add_format(s, d)

vectors <- list(
    c(1, 10, 100), c(1.5, NA, 3), c(0.00012345, 123456789), c(1e-10, 1),
    c(-1.5, 2.25, 1e5), c(1e-300, 1e300), c(Inf, -Inf, NaN, NA, 1), NA, NaN, Inf, -Inf,
    c(NA, NA), c(NaN, NA), c(Inf, NA), c(-Inf, 1), c(1, 2, 3), c(123456, 1234567),
    c(1e5, 2e5), c(100000, 123456), c(0, 0), c(0, 1e-20), c(0, 1), c(0, -1.5),
    c(-1, 1), c(0.1, 0.12, 0.123), c(1.123456789, 123456.1), c(1e-5, 1e5),
    c(1e-3, 1e3), c(1e-4, 1), c(1e-5, 1), c(0.15, 0.25, 0.35), c(2.675, 1.005),
    c(99.995, 0.001), c(9.9996, 1), c(9.9996, 10.0001), c(1e15, 1), c(1e16, 1),
    c(123456789, 0.1), c(-123456789, 0.1), c(3.14159, -2.71828, 1.41421),
    c(0.5, NA, -0.25, NaN), c(1e-300, 1), c(1e100, 1e-100), c(5e-324, 1),
    c(1.5e-8, 2.5e-9, -3.5e-10), c(1234.5, 0.00001), c(0.02, 0.0002),
    c(42, 42.5, 42.25), c(-0.0001, 0.0001), c(1 / 7, 22 / 7, 355 / 113),
    c(999.9999, 1000), c(9999.5, 99999.5), c(0.099999, 0.1), c(7.1e-5, 0.05),
    c(100, 1e-8), c(2^31, 2^-31), c(2^52, 2^53), c(1e22, 1e23), c(1e27, 1e28),
    c(1e-27, 1e-28), c(-1e-5, -1e5), c(12, 1.2, 0.12, 0.012), c(9.5, 10.5),
    c(0.00011, 0.0011, 0.011), c(123.45, NA, -Inf), c(1e5, 1e-5, NA, NaN, Inf, -Inf),
    c(-0, 0, 1e-320), c(1.0000001, 1), c(1.00000001, 1), c(99999, 100000, 100001),
    c(0.1234567891234, 12345.67891234), c(1e200 * 1e100, 1))
for (d in c(1, 2, 3, 4, 5, 7, 10, 15, 17))
    for (v in vectors) add_format(v, d)

for (ns in c(1L, 2L, 3L, 5L))
    for (v in list(c(1, 2), c(1.5, 2.25), c(0.001234, 1), 1e10, c(1e-10, 1), c(NA, 3),
                   123456789, c(0.1, 0.12345678), 1e-20))
        for (d in c(3, 7)) add_format(v, d, ns)

set.seed(20240611)
random_vector <- function() {
    n <- sample(1:6, 1)
    scale <- 10^runif(1, -12, 12)
    v <- scale * 10^runif(n, -3, 3) * sample(c(-1, 1), n, replace = TRUE)
    kind <- sample(1:5, 1)
    if (kind == 1) v <- round(v, sample(0:6, 1))
    if (kind == 2) v <- signif(v, sample(1:6, 1))
    if (kind == 3 && n > 1) v[sample(n, 1)] <- NA
    if (kind == 4) v <- round(runif(n, -100, 100), sample(0:4, 1))
    v
}
for (d in c(3, 4, 5, 7, 15))
    for (i in 1:60) add_format(random_vector(), d)

## ---------------------------------------------------------------- round() / signif()

round_cases <- list()
signif_cases <- list()
round_x <- c(0.15, 0.25, 0.35, 2.675, 1.005, 0.285, 99.995, 2.5, 0.5, -0.5, 1.5, -2.5,
             123.456, -123.456, 0.1 + 0.2, 1/3, 2/3, pi, 1e-300, 1e300, 5e-324,
             0.0001234567, 123456789.123, 9.9996, 0.045, 5.55, 1e15 + 0.5, 1e-10,
             -0.000987654, 0.99999, 1234.5678, 7.125, 7.135, 0.0049999, 1e22)
for (x in round_x) {
    for (d in c(-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 10, 15, 300, 310, 320))
        round_cases[[length(round_cases) + 1L]] <-
            list(x = num(x), digits = d, out = num(round(x, d)))
    for (d in c(1, 2, 3, 4, 5, 6, 7, 10, 15, 16, 22))
        signif_cases[[length(signif_cases) + 1L]] <-
            list(x = num(x), digits = d, out = num(signif(x, d)))
}
set.seed(7)
for (i in 1:150) {
    x <- 10^runif(1, -8, 8) * sample(c(-1, 1), 1)
    d <- sample(0:8, 1)
    round_cases[[length(round_cases) + 1L]] <- list(x = num(x), digits = d, out = num(round(x, d)))
    s <- sample(1:8, 1)
    signif_cases[[length(signif_cases) + 1L]] <- list(x = num(x), digits = s, out = num(signif(x, s)))
}

## ---------------------------------------------------------------- format.pval()

pval_cases <- list()
add_pval <- function(p, digits, eps = .Machine$double.eps) {
    pval_cases[[length(pval_cases) + 1L]] <<- list(
        p = I(num(p)), digits = digits, eps = num(eps),
        out = I(format.pval(p, digits = digits, eps = eps)))
}
pvals <- list(
    c(0.05, 1e-20), c(0.5, 0.03, 0.0001), c(1e-5, 2e-17), c(NA, 0.5), 0, 1, 1e-20,
    c(1e-20, 1e-30), c(0.123456, 0.0456, 0.00789), c(0.9999, 0.0001), 0.00012,
    c(2e-16, 3e-16), c(2.2e-16, 1e-16), c(0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6),
    c(NA, NA), c(NA, 1e-30), c(0.0004, 0.5), c(0.00004, 0.5), 5e-5, 0.000123,
    c(0.049999, 0.050001), c(0.99996, 0.5), c(1e-300, 0.2), c(0.0009999, 0.001),
    c(NaN, 0.3), c(3.1e-10, 0.77, 0.0012))
for (p in pvals) for (d in c(1, 2, 3, 4, 5, 7)) add_pval(p, d)
for (p in pvals[1:6]) add_pval(p, 3, 1e-4)

## ---------------------------------------------------------------- deparse()

deparse_x <- c(2, 0.5, 0.001, 1e5, 1e-10, 123456.7, 1/3, pi, -1.5, 1e15, 1e-15, 100000,
               123456, 0.1, 1e-300, NaN, Inf, -Inf, 0, -0, 1e16, 123456789012345,
               1234567890123456, 0.1 + 0.2, 2/3, 1e-5, 1e-4, 0.0001234, 1e300,
               .Machine$double.eps, 5e-324, 10, 1000, 1e4, 99999, 100001, 2.5, 0.05,
               1.5e-8, 3e6, 12345678, 0.3333, 1 - 1e-15, 6.02214076e23)
deparse_cases <- lapply(deparse_x, function(x) list(x = num(x), out = deparse(x)))

## ---------------------------------------------------------------- printCoefmat()

## The coefficient matrix exactly as print.summary.glm builds it (NA rows for
## aliased coefficients), printed with its defaults.
coef_tables <- list()
add_fit <- function(name, fit) {
    s <- summary(fit)
    coefs <- s$coefficients
    if (any(s$aliased)) {
        full <- matrix(NA_real_, length(s$aliased), 4L,
                       dimnames = list(names(s$aliased), colnames(coefs)))
        full[!s$aliased, ] <- coefs
        coefs <- full
    }
    lines <- capture.output(printCoefmat(coefs, digits = max(3L, getOption("digits") - 3L),
                                         signif.stars = TRUE, na.print = "NA"))
    ## The same lines must appear in the printed summary.
    printed <- capture.output(print(s))
    start <- match(lines[1L], printed)
    stopifnot(!is.na(start),
              identical(printed[start:(start + length(lines) - 1L)], lines))
    add_coefmat(name, coefs, lines, deparse(fit$call))
}
add_coefmat <- function(name, coefs, lines, call = "", digits = 4L) {
    cn <- colnames(coefs)
    coef_tables[[length(coef_tables) + 1L]] <<- list(
        name = name, call = paste(call, collapse = " "), digits = digits,
        rowNames = I(rownames(coefs)),
        estimate = I(num(coefs[, 1])), stdError = I(num(coefs[, 2])),
        statistic = I(num(coefs[, 3])), pValue = I(num(coefs[, 4])),
        statisticLabel = cn[3], pValueLabel = cn[4], lines = I(lines))
}

mt <- mtcars
mt$wt2 <- 2 * mt$wt                    # aliased with wt
mt$hp_big <- mt$hp * 1e6               # tiny estimates
mt$wt_small <- mt$wt / 1e6             # huge estimates
mt$cyl_f <- factor(mt$cyl)
wb <- warpbreaks
bw <- birthwt
bw$race <- factor(bw$race, labels = c("white", "black", "other"))
set.seed(1)
noise <- data.frame(y = rnorm(40), x1 = rnorm(40), x2 = rnorm(40),
                    k = rpois(40, 3), b = rbinom(40, 1, 0.5))
sep <- data.frame(x = c(1:10), y = c(rep(0, 5), rep(1, 5)))  # complete separation
budworm <- data.frame(ldose = rep(0:5, 2), numdead = c(1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16),
                      sex = factor(rep(c("M", "F"), c(6, 6))))
budworm$SF <- cbind(budworm$numdead, numalive = 20 - budworm$numdead)
clotting <- data.frame(u = c(5, 10, 15, 20, 30, 40, 60, 80, 100),
                       lot1 = c(118, 58, 42, 35, 27, 25, 21, 19, 18))
dobson <- data.frame(counts = c(18, 17, 15, 20, 10, 20, 25, 13, 12),
                     outcome = gl(3, 1, 9), treatment = gl(3, 3))
aq <- na.omit(airquality)

fits <- list(
    mtcars_am_wt_hp_binomial = glm(am ~ wt + hp, family = binomial, data = mt),
    mtcars_vs_mpg_binomial = glm(vs ~ mpg, family = binomial, data = mt),
    mtcars_carb_poisson = glm(carb ~ wt + cyl_f, family = poisson, data = mt),
    mtcars_aliased_gaussian = glm(mpg ~ wt + wt2 + hp, family = gaussian, data = mt),
    mtcars_aliased_binomial = glm(am ~ wt + wt2, family = binomial, data = mt),
    mtcars_tiny_estimates = glm(mpg ~ hp_big + wt, data = mt),
    mtcars_huge_estimates = glm(mpg ~ wt_small + hp, data = mt),
    mtcars_gamma = glm(mpg ~ wt + hp, family = Gamma(link = "log"), data = mt),
    mtcars_inverse_gaussian = glm(mpg ~ wt, family = inverse.gaussian, data = mt),
    warpbreaks_poisson = glm(breaks ~ wool + tension, family = poisson, data = wb),
    warpbreaks_quasipoisson = glm(breaks ~ wool * tension, family = quasipoisson, data = wb),
    insectsprays_poisson = glm(count ~ spray, family = poisson, data = InsectSprays),
    toothgrowth_gaussian = glm(len ~ supp + dose, data = ToothGrowth),
    plantgrowth_gaussian = glm(weight ~ group, data = PlantGrowth),
    chickwts_gaussian = glm(weight ~ feed, data = chickwts),
    infert_binomial = glm(case ~ spontaneous + induced + age, family = binomial, data = infert),
    esoph_binomial = glm(cbind(ncases, ncontrols) ~ agegp + alcgp, family = binomial, data = esoph),
    birthwt_binomial = glm(low ~ age + lwt + race + smoke + ptl + ht + ui, family = binomial, data = bw),
    birthwt_gaussian = glm(bwt ~ age + lwt + smoke, data = bw),
    menarche_binomial = glm(cbind(Menarche, Total - Menarche) ~ Age, family = binomial, data = menarche),
    quine_poisson = glm(Days ~ Eth + Sex + Age + Lrn, family = poisson, data = quine),
    quine_quasipoisson = glm(Days ~ Eth + Sex, family = quasipoisson, data = quine),
    insurance_poisson_offset = glm(Claims ~ District + Group + Age + offset(log(Holders)),
                                   family = poisson, data = Insurance),
    housing_poisson = glm(Freq ~ Infl * Type + Cont, family = poisson, data = housing),
    pima_binomial = glm(type ~ npreg + glu + bp + skin + bmi + ped + age, family = binomial, data = Pima.tr),
    anorexia_gaussian = glm(Postwt ~ Prewt + Treat, data = anorexia),
    cats_gaussian = glm(Hwt ~ Bwt * Sex, data = cats),
    ships_poisson = glm(incidents ~ type + factor(year) + offset(log(pmax(service, 1))),
                        family = poisson, data = ships),
    noise_gaussian_no_stars = glm(y ~ x1 + x2, data = noise),
    noise_poisson_no_stars = glm(k ~ x1, family = poisson, data = noise),
    noise_binomial_no_stars = glm(b ~ x1 + x2, family = binomial, data = noise),
    separation_binomial = suppressWarnings(glm(y ~ x, family = binomial, data = sep)),
    budworm_binomial = glm(SF ~ sex * ldose, family = binomial, data = budworm),
    budworm_quasibinomial = glm(SF ~ sex + ldose, family = quasibinomial, data = budworm),
    clotting_gamma = glm(lot1 ~ log(u), family = Gamma, data = clotting),
    dobson_poisson = glm(counts ~ outcome + treatment, family = poisson, data = dobson),
    airquality_gamma = glm(Ozone ~ Solar.R + Wind + Temp, family = Gamma(link = "log"), data = aq),
    airquality_poisson = glm(Ozone ~ Temp + Month, family = poisson, data = aq),
    cars_gaussian = glm(dist ~ speed + I(speed^2), data = cars),
    swiss_quasibinomial = glm(I(Fertility / 100) ~ Agriculture + Education, family = quasibinomial, data = swiss),
    intercept_only_poisson = glm(count ~ 1, family = poisson, data = InsectSprays),
    no_intercept_gaussian = glm(len ~ 0 + supp, data = ToothGrowth),
    cement_gaussian = glm(y ~ x1 + x2 + x3 + x4, data = cement))
for (nm in names(fits)) add_fit(nm, fits[[nm]])

## Hand-made matrices for corners the fits above do not reach.
synthetic <- list(
    zero_estimate = rbind(a = c(0, 0.5, 0, 1), b = c(1.23456, 0.1, 12.3456, 1e-30)),
    nan_std_error = rbind("(Intercept)" = c(1.5, NaN, NaN, NaN), x = c(2.5, 0.3, 8.33, 1e-10)),
    all_na_but_one = rbind(a = c(NA, NA, NA, NA), b = c(3, 1, 3, 0.0027)),
    rounds_to_zero = rbind(a = c(1e-7, 1e-8, 10, 1e-20), b = c(1234.5, 12.3, 100.4, 0.03)),
    inf_values = rbind(a = c(Inf, 1, Inf, 0), b = c(-2, 0.5, -4, 6.3e-5)),
    p_exactly_cutpoints = rbind(a = c(1, 1, 1, 0.001), b = c(1, 1, 1, 0.01),
                                c = c(1, 1, 1, 0.05), d = c(1, 1, 1, 0.1), e = c(1, 1, 1, 1)),
    only_dot = rbind(a = c(1, 1, 1.7, 0.089), b = c(2, 2, 1, 0.32)),
    long_row_names = rbind(a_very_long_coefficient_name_that_is_quite_long_indeed = c(1, 1, 1, 0.5),
                           another_rather_long_name_to_force_wrapping_columns = c(2, 1, 2, 0.04)),
    huge_values = rbind(a = c(1.23e15, 4.56e14, 2.7, 0.007), b = c(-9.87e-12, 3.3e-13, -29.9, 1e-100)),
    all_na = rbind(a = c(NA, NA, NA, NA), b = c(NA, NA, NA, NA)),
    inf_without_finite = rbind(a = c(Inf, NA, NA, NA)),
    p_zero_and_one = rbind(a = c(5, 0.01, 500, 0), b = c(0.5, 1, 0.5, 1)),
    mixed_zero_rounding = rbind(a = c(1e-9, 2e-9, 0.5, 0.6), b = c(0, 1e-12, 0, 1),
                                c = c(123456, 2345, 52.6, 1e-17)))
set.seed(99)
random_rows <- function(n) {
    est <- 10^runif(n, -6, 5) * sample(c(-1, 1), n, replace = TRUE)
    se <- abs(est) * 10^runif(n, -2, 1)
    cbind(est, se, est / se, 2 * pnorm(-abs(est / se)))
}
for (nm in names(synthetic)) {
    m <- synthetic[[nm]]
    colnames(m) <- c("Estimate", "Std. Error", "z value", "Pr(>|z|)")
    lines <- capture.output(printCoefmat(m, digits = 4L, signif.stars = TRUE, na.print = "NA"))
    add_coefmat(paste0("synthetic_", nm), m, lines)
}
## Other printCoefmat digits (summary.glm(digits = ...) passes them through).
for (d in c(2L, 3L, 5L, 6L, 7L, 9L)) {
    m <- random_rows(5)
    dimnames(m) <- list(paste0("b", 1:5), c("Estimate", "Std. Error", "t value", "Pr(>|t|)"))
    lines <- capture.output(printCoefmat(m, digits = d, signif.stars = TRUE, na.print = "NA"))
    add_coefmat(paste0("synthetic_digits_", d), m, lines, digits = d)
}

## ---------------------------------------------------------------- print.default(<character matrix>)

matrix_cases <- list()
add_matrix <- function(m) {
    matrix_cases[[length(matrix_cases) + 1L]] <<- list(
        rowNames = I(rownames(m)), columnNames = I(colnames(m)),
        cells = lapply(seq_len(nrow(m)), function(i) I(unname(m[i, ]))),
        lines = I(capture.output(print.default(m, quote = FALSE, right = TRUE))))
}
add_matrix(matrix(c("1", "22", "333", "4444"), 2, dimnames = list(c("a", "bb"), c("x", "yy"))))
add_matrix(matrix(c("1.5", "-2"), 2, 1, dimnames = list(c("row one", "r2"), "A long header")))
add_matrix(matrix(c("", "NA", "x", ""), 2, dimnames = list(c("", "z"), c("", "b"))))
add_matrix(matrix(sprintf("%.6f", seq(1, 60) / 7), 2,
                  dimnames = list(c("first", "second"), paste0("column", 1:30))))
add_matrix(matrix(strrep("w", 1:6), 1, dimnames = list("r", paste0("c", 1:6))))
add_matrix(matrix(c("0.5", "12.25", "100"), 3, 1,
                  dimnames = list(c("Null deviance", "Residual deviance", "AIC"), "value")))
add_matrix(matrix(c("1", "22", "333", "4"), 2,   # display width: wide, combining, emoji
                  dimnames = list(c("\u65e5\u672c\u8a9e", "cafe\u0301"), c("Gr\u00f6\u00dfe", "\U1F600"))))
add_matrix(matrix(rep("abcdefghijklmnopqrstuvwxyz", 8), 2,
                  dimnames = list(c("p", "q"), c("alpha", "beta", "gamma", "delta"))))

## ---------------------------------------------------------------- write

fixture <- list(
    r_version = R.version.string,
    format = format_cases, round = round_cases, signif = signif_cases,
    pval = pval_cases, deparse = deparse_cases,
    coefTables = coef_tables, matrices = matrix_cases)
writeLines(toJSON(fixture, auto_unbox = TRUE, pretty = 1, digits = NA),
           "rformat_reference.json", useBytes = TRUE)
cat(sprintf("format %d, round %d, signif %d, pval %d, deparse %d, coefTables %d, matrices %d\n",
            length(format_cases), length(round_cases), length(signif_cases), length(pval_cases),
            length(deparse_cases), length(coef_tables), length(matrix_cases)))
