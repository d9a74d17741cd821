# Reference numbers for DiagnosticPlot and Lowess (Tests/GLMReportTests/DiagnosticPlotTests.swift):
# R's lowess on a fixed data set with iter = 3 and 0, and what plot(glm) draws for the quine
# poisson fit: the smoother of panel 1 (lowess(predict, pearson, iter = 0)) and the rows it labels.
# Run from the repository root: Rscript Tests/GLMReportTests/Golden/make_plot_reference.R
quine <- read.csv("Examples/quine.csv")
fit <- glm(Days ~ Eth + Sex + Age + Lrn, family = poisson, data = quine)
yh <- predict(fit)
r <- residuals(fit, type = "pearson")
rs <- rstandard(fit, type = "pearson")
cook <- cooks.distance(fit)
x <- quine$Days
y <- as.numeric(factor(quine$Age)) + (seq_len(nrow(quine)) %% 7) / 3
l3 <- lowess(x, y, f = 2/3, iter = 3)
l0 <- lowess(x, y, f = 2/3, iter = 0)
p1 <- lowess(yh, r, f = 2/3, iter = 0)
num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")
cat("{\n",
    '"lowess_x": ', num(x), ",\n",
    '"lowess_y": ', num(y), ",\n",
    '"lowess_iter3": ', num(l3$y), ",\n",
    '"lowess_iter0": ', num(l0$y), ",\n",
    '"panel1_smoother": ', num(p1$y), ",\n",
    '"panel1_labels": ', num(as.integer(names(r))[order(-abs(r))[1:3]]), ",\n",
    '"qq_labels": ', num(as.integer(names(rs))[order(-abs(rs))[1:3]]), ",\n",
    '"leverage_labels": ', num(as.integer(names(cook))[order(-cook)[1:3]]), "\n",
    "}\n", sep = "", file = "Tests/GLMReportTests/Golden/plot_reference.json")
svg("/tmp/j/r_plot_quine.svg", width = 8, height = 8)
par(mfrow = c(2, 2))
plot(fit)
invisible(dev.off())
png("/tmp/j/r_plot_quine.png", width = 720, height = 720)
par(mfrow = c(2, 2))
plot(fit)
invisible(dev.off())
