# Usage: Rscript Tests/glmfitTests/Reference/make_heavy_aliasing_reference.R subset > Tests/glmfitTests/Reference/heavy_aliasing_subset_reference.txt
#        Rscript Tests/glmfitTests/Reference/make_heavy_aliasing_reference.R full A > full_A.txt   (then B, then A_fixed;
#        heavy_aliasing_full_reference.txt is full_A.txt, full_B.txt and full_A_fixed.txt in that order; the
#        "# note:" lines of the A blocks were added by hand from the study described below)
#
# R's binomial-logit glm on InstEval (Examples/insteval.csv.gz) with the instructor factor crossed with
# the student's age: most instructor x age cells are empty, so hundreds of columns are aliased (NA) by R's
# in-order rule. Two models:
#   A  good ~ service + d * factor(studage)            (d is character: glm makes it a factor, names dI0006 ...)
#   B  good ~ service + C(factor(d), sum) * factor(studage)
#
# "subset": the rows of the instructors among the first 150 levels of sort(unique(d)) (11,666 rows),
# written to heavy_aliasing_subset.csv (columns good, d, studage, service) and fitted by glm on the raw
# rows. Two grouped fits are checked against it (one line each, "# check ..."):
#   grouped_glm     glm(cbind(successes, failures) ~ same rhs) on rows aggregated by (service, d, studage);
#   grouped_replay  the IRLS below, which replays glm.fit's iterations on the raw rows with the rows of a
#                   cell summed (see replay_ungrouped_glm).
# "full": all 73,421 rows; glm on the raw rows (73,421 x ~4,513 by QR per iteration) would take hours, so the
# fit is the grouped replay on the 4,912 distinct (service, d, studage) rows: the same normal equations, the
# same starting point, deviance and stopping rule as glm on the raw rows.
#
# Why a replay and not only grouped glm: at convergence both solve the same score equations, but many cells
# are all-good or all-bad, so some coefficients run off towards +-infinity and their values (and SEs) are
# wherever glm.fit stopped. Grouped glm starts elsewhere (mustart per cell, not per row) and tests
# convergence on the grouped deviance (a different denominator in |dev - devold| / (|dev| + 0.1)), so it
# can stop at another iteration with other values for those coefficients. The replay does not.
#
# Printed per model: a "## model X" line, "# key: value" header lines, then one line per column of the
# model matrix in its order: name<TAB>estimate<TAB>se (%.15g), or name<TAB>NA<TAB>NA for an aliased column.
# deviance is that of the raw rows (-2 sum y log mu + (1 - y) log(1 - mu)); aic = deviance + 2 rank.
#
# A borderline column in the full model A. R re-decides the aliasing at every iteration (dqrdc2: a column is
# aliased when its norm after the earlier columns falls below 1e-11 of its own). Instructor I1694 has 78
# ratings from studage 4 and one (service 1, good 0) from studage 6, so dI1694:factor(studage)6 is exactly
# dI1694 - dI1694:factor(studage)4. As that one rating's weight falls (mu -> 0; 1.6e-7 at the last
# iteration) its column's norm shrinks until the rounding left by the earlier columns is more than 1e-11 of
# it: at iteration 15 of 15 the replay keeps it (rank 3,501, dI1694 and its studage-4 column at -+4.4e12,
# deviance 87038.6774267305) while model B, the same column space, stays at 3,500 (87038.677272424).
# With the last iteration's weights, the same QR aliases it with tol 3e-11 or 1e-10, keeps it at 1e-11
# and 3e-12 (and keeps 1 or 9 more columns at 3e-12 or 1e-12), and with the rows in three random orders it
# aliased it twice and kept it once (model B's columns with the same weights: rank 3,500 as given and with
# the rows in a random order). So whether R's glm on the raw rows keeps it is a matter of
# rounding: block "A_fixed" (aliasing fixed at iteration 1, the design's structure) is what R prints if it
# aliases it, bit-identical to block A up to iteration 14; at iteration 15 the extra column moves every other
# coefficient by up to ~1e-4 (service -0.124344299368278 in A, -0.124368749745774 in A_fixed).
# Some estimates are zero up to rounding (dI1212 1.6e-13 in A_fixed): compare those absolutely.
#
# Elapsed (this machine, 2 shared cores with other jobs, nice -n 10): subset 76 s (both models); full A
# 931 s and 991 s (15 iterations, 46-70 s each), full B 1,111 s, full A_fixed 1,277 s.

args <- commandArgs(trailingOnly = TRUE)
what <- if (length(args) >= 1) args[1] else "subset"
models <- if (length(args) >= 2) args[-1] else c("A", "B")
rhs <- list(A = ~ service + d * factor(studage),
            B = ~ service + C(factor(d), sum) * factor(studage))
response <- list(ungrouped = quote(good), grouped = quote(cbind(successes, failures)))
with_response <- function(model, kind) {
  f <- rhs[[model]]
  as.formula(call("~", response[[kind]], f[[2]]), env = globalenv())
}

d <- read.csv("Examples/insteval.csv.gz")
if (what == "subset") {
  first_levels <- sort(unique(d$d))[1:150]
  d <- d[d$d %in% first_levels, c("good", "d", "studage", "service")]
  rownames(d) <- NULL
  write.csv(d, "Tests/glmfitTests/Reference/heavy_aliasing_subset.csv", row.names = FALSE)
} else if (what != "full") {
  stop("usage: make_heavy_aliasing_reference.R subset | full [A] [B]")
}

# One row per distinct (service, d, studage): successes and failures of good.
group_rows <- function(d) {
  key <- paste(d$service, d$d, d$studage, sep = "\r")
  first <- !duplicated(key)
  g <- d[first, c("service", "d", "studage")]
  index <- match(key, key[first])
  g$successes <- as.vector(tapply(d$good, factor(index, levels = seq_len(nrow(g))), sum))
  g$trials <- tabulate(index, nbins = nrow(g))
  g$failures <- g$trials - g$successes
  rownames(g) <- NULL
  g
}

# glm.fit on the raw rows, replayed on the cells: within a cell every raw row has the same design row, so
# the raw rows' weighted least squares problem at each iteration has the same normal equations as one row
# per cell with weight = the sum of the rows' working weights and working response = their weighted mean.
# From iteration 2 on the rows of a cell share eta; only the start differs per row (mustart = (y + 0.5) / 2).
# The QR (C_Cdqrls, same tolerance), step halving, deviance and the stopping rule are glm.fit's.
# fixed_aliasing = TRUE is not R: the columns aliased at iteration 1 (weights 0.1875 per raw row, so the
# decision there is the design's structure) stay aliased and the later QRs see only the kept columns, which
# gives the same numbers as R whenever R's aliased set does not change between iterations.
replay_ungrouped_glm <- function(x, successes, failures, epsilon = 1e-8, maxit = 25, fixed_aliasing = FALSE) {
  family <- binomial()
  trials <- successes + failures
  raw_deviance <- function(mu) sum(2 * (successes * -log(mu) + failures * -log(1 - mu)))
  valid <- function(eta, mu) family$valideta(eta) && family$validmu(mu)
  # Start: rows with y = 1 have mu = 0.75, rows with y = 0 have mu = 0.25.
  mu1 <- 0.75; eta1 <- family$linkfun(mu1); mu0 <- 0.25; eta0 <- family$linkfun(mu0)
  w1 <- family$mu.eta(eta1)^2 / family$variance(mu1)
  w0 <- family$mu.eta(eta0)^2 / family$variance(mu0)
  z1 <- eta1 + (1 - mu1) / family$mu.eta(eta1)
  z0 <- eta0 + (0 - mu0) / family$mu.eta(eta0)
  weight <- successes * w1 + failures * w0
  z <- (successes * w1 * z1 + failures * w0 * z0) / weight
  devold <- sum(successes) * family$dev.resids(1, mu1, 1) + sum(failures) * family$dev.resids(0, mu0, 1)
  coefold <- NULL
  start <- numeric(ncol(x))
  conv <- FALSE
  boundary <- FALSE
  ranks <- integer()
  changes <- character()
  coefficients_by_iteration <- list()
  for (iter in 1L:maxit) {
    if (iter > 1L) {
      mu.eta.val <- family$mu.eta(eta)
      z <- eta + (successes / trials - mu) / mu.eta.val
      weight <- trials * mu.eta.val^2 / family$variance(mu)
    }
    w <- sqrt(weight)
    columns <- if (fixed_aliasing && iter > 1L) kept_first else seq_len(ncol(x))
    fit <- .Call(stats:::C_Cdqrls, x[, columns, drop = FALSE] * w, z * w, min(1e-07, epsilon / 1000), check = FALSE)
    pivot <- c(columns[fit$pivot], setdiff(seq_len(ncol(x)), columns))
    # The aliased set can change between iterations (the weights of separated cells shrink): keep a log.
    aliased <- sort(pivot[seq.int(fit$rank + 1, length.out = ncol(x) - fit$rank)])
    if (iter == 1L) kept_first <- sort(pivot[seq_len(fit$rank)])
    ranks <- c(ranks, fit$rank)
    if (iter > 1L && !identical(aliased, aliased_before)) {
      changes <- c(changes, sprintf("iteration %d: newly kept %s; newly aliased %s", iter,
                                    paste(colnames(x)[setdiff(aliased_before, aliased)], collapse = "\t"),
                                    paste(colnames(x)[setdiff(aliased, aliased_before)], collapse = "\t")))
    }
    aliased_before <- aliased
    if (any(!is.finite(fit$coefficients))) stop("non-finite coefficients at iteration ", iter)
    start[columns[fit$pivot]] <- fit$coefficients
    coefficients_by_iteration[[iter]] <- start
    eta <- drop(x %*% start)
    mu <- family$linkinv(eta)
    dev <- raw_deviance(mu)
    boundary <- FALSE
    if (!is.finite(dev) || !valid(eta, mu)) {
      if (is.null(coefold)) stop("no valid set of coefficients at iteration ", iter)
      ii <- 1
      while (!is.finite(dev) || !valid(eta, mu)) {
        if (ii > maxit) stop("cannot correct step size")
        ii <- ii + 1
        start <- (start + coefold) / 2
        eta <- drop(x %*% start)
        mu <- family$linkinv(eta)
        dev <- raw_deviance(mu)
      }
      boundary <- TRUE
    }
    cat(sprintf("# iteration %d: deviance %.15g, rank %d, at %.0f s\n", iter, dev, fit$rank,
                proc.time()[["elapsed"]]), file = stderr())
    if (abs(dev - devold) / (0.1 + abs(dev)) < epsilon) {
      conv <- TRUE
      coef <- start
      break
    } else {
      devold <- dev
      coef <- coefold <- start
    }
  }
  rank <- fit$rank
  p <- ncol(x)
  if (rank < p) coef[pivot][seq.int(rank + 1, p)] <- NA
  # summary.glm: dispersion 1, covariance from the last iteration's R.
  se <- rep(NA_real_, p)
  kept <- pivot[seq_len(rank)]
  se[kept] <- sqrt(diag(chol2inv(fit$qr[seq_len(rank), seq_len(rank), drop = FALSE])))
  names(coef) <- names(se) <- colnames(x)
  list(coef = coef, se = se, rank = rank, deviance = dev, iter = iter, converged = conv, boundary = boundary,
       mu = mu, ranks = ranks, changes = changes, coefficients_by_iteration = coefficients_by_iteration)
}

glm_summary <- function(m) {
  s <- summary(m)
  se <- rep(NA_real_, length(coef(m)))
  names(se) <- names(coef(m))
  se[rownames(s$coefficients)] <- s$coefficients[, "Std. Error"]
  list(coef = coef(m), se = se, rank = m$rank, iter = m$iter, converged = m$converged, boundary = m$boundary)
}

# Column names of the raw rows' model matrix: they depend on the terms and the factor levels only, so the
# model frame of all raw rows, its character columns made factors as model.matrix does, cut to its first
# two rows (levels kept), gives them without building the 73,421-row matrix.
raw_column_names <- function(model, d) {
  mf <- model.frame(with_response(model, "ungrouped"), d)
  mf[] <- lapply(mf, function(v) if (is.character(v)) factor(v) else v)
  colnames(model.matrix(attr(mf, "terms"), mf[1:2, , drop = FALSE]))
}

# The raw rows' deviance from a grouped fit's cell probabilities.
raw_deviance_of <- function(m, g) {
  mu <- fitted(m)
  sum(2 * (g$successes * -log(mu) + g$failures * -log(1 - mu)))
}

relative_difference <- function(a, b, among = rep(TRUE, length(b))) {
  both <- !is.na(a) & !is.na(b) & among
  max(abs(a[both] - b[both]) / pmax(abs(b[both]), .Machine$double.xmin))
}

print_block <- function(model_label, r, raw_rows, method, extra = character()) {
  cat(sprintf("## model %s\n", model_label))
  cat(sprintf("# formula: %s\n", deparse1(with_response(sub("_fixed$", "", model_label), "ungrouped"))))
  cat(sprintf("# data: %s\n", if (what == "subset") "Tests/glmfitTests/Reference/heavy_aliasing_subset.csv"
                             else "Examples/insteval.csv.gz"))
  cat(sprintf("# method: %s\n", method))
  cat(sprintf("# rows: %d\n", raw_rows))
  cat(sprintf("# columns: %d\n", length(r$coef)))
  cat(sprintf("# rank: %d\n", r$rank))
  cat(sprintf("# aliased: %d\n", sum(is.na(r$coef))))
  cat(sprintf("# deviance: %.15g\n", r$deviance))
  cat(sprintf("# aic: %.15g\n", r$deviance + 2 * r$rank))
  cat(sprintf("# iterations: %d\n", r$iter))
  cat(sprintf("# converged: %s\n", r$converged))
  cat(sprintf("# aliased_names: %s\n", paste(names(r$coef)[is.na(r$coef)], collapse = "\t")))
  for (line in extra) cat(line, "\n", sep = "")
  cat(sprintf("%s\t%s\t%s\n", names(r$coef),
              ifelse(is.na(r$coef), "NA", sprintf("%.15g", r$coef)),
              ifelse(is.na(r$coef), "NA", sprintf("%.15g", r$se))), sep = "")
}

g <- group_rows(d)
for (model_label in models) {
  # "A_fixed": model A by the replay with fixed_aliasing (see replay_ungrouped_glm).
  model <- sub("_fixed$", "", model_label)
  fixed <- model != model_label
  started <- proc.time()[["elapsed"]]
  names_raw <- raw_column_names(model, d)
  x <- model.matrix(rhs[[model]], g)
  if (!identical(colnames(x), names_raw)) stop("model ", model, ": grouped columns differ from the raw rows'")
  replay <- replay_ungrouped_glm(x, g$successes, g$failures, fixed_aliasing = fixed)
  # Optional: keep the iterations' coefficients to study a borderline aliasing decision later.
  if (nzchar(Sys.getenv("HEAVY_ALIASING_SAVE"))) {
    saveRDS(list(x = x, g = g, replay = replay), sprintf("%s_%s_%s.rds", Sys.getenv("HEAVY_ALIASING_SAVE"), what, model))
  }
  extra <- sprintf("# columns_match_raw_model_matrix: %s", identical(colnames(x), names_raw))
  if (what == "subset") {
    m <- glm(with_response(model, "ungrouped"), binomial, d)
    raw <- glm_summary(m)
    raw$deviance <- deviance(m)
    if (!identical(names(raw$coef), names_raw)) stop("model ", model, ": glm's names differ from model.matrix's")
    mg <- glm(with_response(model, "grouped"), binomial, g)
    grouped <- glm_summary(mg)
    # Coefficients with an SE under 10 are not running off to infinity (separated cells give SEs of hundreds).
    finite <- !is.na(raw$se) & raw$se < 10
    check <- function(label, r) {
      sprintf(paste("# check %s: na_pattern_identical %s, rank %d, iterations %d, raw deviance %.15g,",
                    "max_rel_diff coef %.3g se %.3g; among the %d with se < 10: coef %.3g se %.3g"),
              label, identical(is.na(r$coef), is.na(raw$coef)), r$rank, r$iter, r$deviance,
              relative_difference(r$coef, raw$coef), relative_difference(r$se, raw$se), sum(finite),
              relative_difference(r$coef, raw$coef, finite), relative_difference(r$se, raw$se, finite))
    }
    grouped$deviance <- raw_deviance_of(mg, g)
    extra <- c(extra, check("grouped_glm", grouped), check("grouped_replay", replay))
    print_block(model, raw, nrow(d), "glm on the raw rows", extra)
  } else {
    extra <- c(extra, sprintf("# rank_by_iteration: %s", paste(replay$ranks, collapse = " ")),
               sprintf("# aliasing_change: %s", replay$changes))
    print_block(model_label, replay, nrow(d),
                if (fixed) "grouped replay of glm.fit, aliasing fixed at iteration 1 (replay_ungrouped_glm, fixed_aliasing)"
                else "grouped replay of glm.fit on the raw rows (replay_ungrouped_glm)", extra)
  }
  cat(sprintf("# elapsed_seconds: %.0f\n", proc.time()[["elapsed"]] - started), file = stderr())
}
