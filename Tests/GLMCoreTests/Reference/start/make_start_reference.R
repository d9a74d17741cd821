# glm(start =): the log-binomial fit of menarche that R cannot start from the family's
# starting means ("no valid set of coefficients has been found: please supply starting
# values") but fits from start = c(-3, 0.1); the logit fit from a far start; a start whose
# means are out of range. Run from the repository root:
#   Rscript Tests/GLMCoreTests/Reference/start/make_start_reference.R
fmt <- function(x) ifelse(is.finite(x), sprintf("%.17g", x), "null")
m <- read.csv("Examples/menarche.csv")
f <- cbind(Menarche, Total - Menarche) ~ Age
run <- function(id, link, start) {
  warnings <- character()
  result <- withCallingHandlers(
    tryCatch(glm(f, family = binomial(link = link), data = m, start = start), error = function(e) conditionMessage(e)),
    warning = function(w) { warnings <<- unique(c(warnings, conditionMessage(w))); invokeRestart("muffleWarning") })
  head <- paste0('    {"id": "', id, '", "link": "', link, '", "start": [', paste(fmt(start), collapse = ", "), '],\n')
  if (is.character(result)) {
    return(paste0(head, '     "error": "', result, '"}'))
  }
  paste0(head,
    '     "coefficients": [', paste(fmt(coef(result)), collapse = ", "), '],\n',
    '     "std_errors": [', paste(fmt(sqrt(diag(vcov(result)))), collapse = ", "), '],\n',
    '     "deviance": ', fmt(deviance(result)), ', "iterations": ', result$iter,
    ', "converged": ', tolower(result$converged), ',\n',
    '     "warnings": [', if (length(warnings)) paste0('"', warnings, '"', collapse = ", ") else "", ']}')
}
entries <- c(
  run("log_start", "log", c(-3, 0.1)),
  run("logit_far_start", "logit", c(-20, 1.5)),
  run("log_invalid_start", "log", c(0, 1)),
  run("log_no_start", "log", NULL))
writeLines(c("{", paste0('  "r_version": "', R.version.string, '",'), '  "cases": [', paste(entries, collapse = ",\n"), "  ]", "}"),
           "Tests/GLMCoreTests/Reference/start/start_reference.json")
