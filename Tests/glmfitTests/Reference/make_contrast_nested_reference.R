# Usage: Rscript Tests/glmfitTests/Reference/make_contrast_nested_reference.R > Tests/glmfitTests/Reference/contrast_nested_reference.txt
# R's glm on all of InstEval (Examples/insteval.csv.gz) with the instructor factor sum-coded
# and nested in the department: 13 of its columns are aliased (NA), chosen by R's in-order
# rule. Takes about ten minutes (1,142 columns by QR). Printed: the deviance and the rank on
# one line, then the aliased coefficients' names.
d <- read.csv("Examples/insteval.csv.gz")
m <- glm(good ~ service + dept + C(factor(d), sum), binomial, d)
cat(sprintf("%.10f %d\n", deviance(m), m$rank))
print(names(coef(m))[is.na(coef(m))])
