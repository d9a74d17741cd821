# Shared by make_gee_insteval_reference.R and make_gee_two_factor_reference.R: geeglm fits
# of InstEval cases, students (`sid`) as clusters, under geepack's default and a tight
# control, written as JSON in the format of gee_reference.json except that `vcov` and
# `vcov_naive` hold only their leading 12 × 12 block and `fitted_values` the first 50 rows
# used (in file order, the data's `.row`).

controls <- list(default = geese.control(), tight = geese.control(epsilon = 1e-10, maxit = 100))
block <- 12
head_rows <- 50

json_str <- function(s) if (length(s) != 1 || is.na(s)) "null" else paste0("\"", gsub("\"", "\\\"", s, fixed = TRUE), "\"")
json_num <- function(x) {
  if (length(x) != 1) stop("json_num: not a scalar")
  if (is.na(x) || !is.finite(x)) return("null")
  if (is.integer(x)) return(as.character(x))
  sprintf("%.17g", x)
}
json_num_array <- function(x) paste0("[", paste(vapply(as.list(x), json_num, ""), collapse = ", "), "]")
json_str_array <- function(x) paste0("[", paste(vapply(as.list(x), json_str, ""), collapse = ", "), "]")
json_matrix <- function(m) {
  rows <- vapply(seq_len(nrow(m)), function(i) json_num_array(m[i, ]), "")
  paste0("[\n          ", paste(rows, collapse = ",\n          "), "\n        ]")
}
json_object <- function(fields, indent = "    ") {
  body <- paste0(indent, "  ", vapply(names(fields), json_str, ""), ": ", unlist(fields))
  paste0("{\n", paste(body, collapse = ",\n"), "\n", indent, "}")
}

fit_case <- function(cs, control, d) {
  env <- new.env(parent = globalenv())
  traced <- control
  traced$trace <- 1L
  assign("d", d, envir = env)
  assign("ctl", traced, envir = env)
  cl <- call("geeglm", formula = as.formula(cs$formula, env = env),
             family = call(cs$family, link = cs$link), data = as.name("d"), id = as.name("sid"),
             corstr = cs$corstr, control = as.name("ctl"))
  if (nzchar(cs$weights)) cl$weights <- as.name(cs$weights)
  printed <- capture.output(fit <- eval(cl, env))
  assign("ctl", control, envir = env)
  list(fit = fit, iterations = length(grep("^iter = ", printed)), qic = QIC(fit, env = env))
}

result_json <- function(res, control) {
  fit <- res$fit
  g <- fit$geese
  cf <- summary(fit)$coefficients
  q <- res$qic
  k <- seq_len(min(block, length(g$beta)))
  json_object(list(
    epsilon = json_num(control$epsilon),
    maxit = json_num(as.integer(control$maxit)),
    iterations = json_num(as.integer(res$iterations)),
    error = json_num(as.integer(g$error)),
    coefficients = json_num_array(unname(g$beta)),
    std_errors = json_num_array(unname(sqrt(diag(g$vbeta)))),
    naive_std_errors = json_num_array(unname(sqrt(diag(g$vbeta.naiv)))),
    wald = json_num_array(unname(cf[, "Wald"])),
    p_values = json_num_array(unname(cf[, "Pr(>|W|)"])),
    vcov = json_matrix(unname(g$vbeta[k, k])),
    vcov_naive = json_matrix(unname(g$vbeta.naiv[k, k])),
    alpha_names = json_str_array(names(g$alpha)),
    alpha = json_num_array(unname(g$alpha)),
    alpha_std_errors = json_num_array(if (length(g$alpha)) unname(sqrt(diag(g$valpha))) else numeric(0)),
    scale = json_num(unname(g$gamma)),
    scale_std_error = json_num(unname(sqrt(diag(g$vgamma)))),
    n_clusters = json_num(length(g$clusz)),
    max_cluster_size = json_num(as.integer(max(g$clusz))),
    # the first rows used, in file order
    fitted_values = json_num_array(unname(head(fit$fitted.values[order(fit$data$.row)], head_rows))),
    qic = json_object(list(
      QIC = json_num(unname(q["QIC"])), QICu = json_num(unname(q["QICu"])),
      quasi_likelihood = json_num(unname(q["Quasi Lik"])),
      CIC = json_num(unname(q["CIC"])), params = json_num(as.integer(q["params"])),
      QICC = json_num(unname(q["QICC"]))), indent = "        ")
  ), indent = "      ")
}

# Fits every case on `d` (in cluster order) and writes the JSON to `path`: the R and geepack
# versions, then `fields` (named, already JSON text), then the cases.
write_gee_reference <- function(d, cases, fields, path) {
  objs <- character(0)
  for (cs in cases) {
    t0 <- proc.time()[["elapsed"]]
    results <- lapply(controls, function(ctl) fit_case(cs, ctl, d))
    tight <- results$tight$fit
    if (tight$geese$error != 0) stop(cs$id, ": geeglm did not converge with the tight control")
    objs <- c(objs, json_object(list(
      id = json_str(cs$id), data = json_str("Examples/insteval.csv.gz"), formula = json_str(cs$formula),
      family = json_str(cs$family), link = json_str(cs$link), id_column = json_str("s"), waves = "null",
      corstr = json_str(cs$corstr), weights = if (nzchar(cs$weights)) json_str(cs$weights) else "null",
      order = json_str("singletons_first"), n_obs = json_num(nrow(d)), n_dropped = json_num(0L),
      coef_names = json_str_array(names(tight$geese$beta)),
      default = result_json(results$default, controls$default),
      tight = result_json(results$tight, controls$tight))))
    a <- tight$geese$alpha
    cat(sprintf("%-40s iter=%2d/%2d n=%d coefficients=%d clusters=%d max=%d scale=%.6g alpha=%s (%.0f s)\n",
                cs$id, results$default$iterations, results$tight$iterations, nrow(d), length(tight$geese$beta),
                length(tight$geese$clusz), max(tight$geese$clusz), tight$geese$gamma,
                if (length(a)) signif(a[1], 6) else "-", proc.time()[["elapsed"]] - t0))
  }
  out <- c("{",
    paste0("  \"r_version\": ", json_str(R.version.string), ","),
    paste0("  \"geepack_version\": ", json_str(as.character(packageVersion("geepack"))), ","),
    paste0("  ", vapply(names(fields), json_str, ""), ": ", unlist(fields), ","),
    "  \"cases\": [",
    paste0("    ", paste(objs, collapse = ",\n    ")), "  ]", "}")
  writeLines(out, path, useBytes = TRUE)
}
