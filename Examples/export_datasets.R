#!/usr/bin/env Rscript
# Regenerates the example CSV files in this directory from the datasets that
# ship with R (package 'datasets'), with MASS and with geepack (longitudinal
# data for GEE), plus three small tables printed in R's ?glm help page and in
# Venables & Ripley's MASS book.
#
# Usage (from the repository root or from Examples/):
#   Rscript Examples/export_datasets.R
#
# Conventions:
#   * write.csv(row.names = FALSE); NA is written as NA.
#   * factors (ordered or not) are written as their text labels, so that
#     read.csv(stringsAsFactors = TRUE) reads them back as (unordered) factors.
#     Level order is then whatever the reader chooses (R and glmfit: the
#     locale's collation, ICU's or byte order under C).
#   * numbers are written with write.csv's default 15 significant digits,
#     except values that need 16 or 17 digits to read back as the same double
#     (e.g. MASS::epil's lbase and lage), which get the shortest exact form.
#     The script checks that every numeric column reads back identical.

suppressPackageStartupMessages(library(MASS))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
outdir <- if (length(script) == 1) dirname(normalizePath(script)) else "Examples"

# Turn every factor column into a character column of its labels.
labels_as_text <- function(d) {
  for (nm in names(d)) if (is.factor(d[[nm]])) d[[nm]] <- as.character(d[[nm]])
  d
}

# Shortest decimal text (15, 16 or 17 significant digits) that reads back as
# exactly the same double.
exact_text <- function(x) {
  vapply(x, function(v) {
    if (is.na(v)) return(NA_character_)
    for (dg in 15:17) {
      t <- formatC(v, digits = dg, format = "g")
      if (as.numeric(t) == v) return(trimws(t))
    }
    trimws(formatC(v, digits = 17, format = "g"))
  }, "")
}

export <- function(d, file) {
  d <- labels_as_text(as.data.frame(d))
  path <- file.path(outdir, file)
  text_cols <- which(vapply(d, is.character, NA))
  out <- d
  for (nm in names(d)) {
    x <- d[[nm]]
    if (is.double(x) && !isTRUE(all.equal(as.numeric(as.character(x)), x,
                                         tolerance = 0))) {
      out[[nm]] <- exact_text(x)
    }
  }
  write.csv(out, path, row.names = FALSE, na = "NA",
            quote = if (length(text_cols)) text_cols else FALSE)
  back <- read.csv(path, stringsAsFactors = FALSE, na.strings = c("NA", "", "NaN"))
  stopifnot(identical(names(back), names(d)), nrow(back) == nrow(d))
  for (nm in names(d)) {
    if (is.numeric(d[[nm]])) {
      if (!identical(as.numeric(back[[nm]]), as.numeric(d[[nm]])))
        stop(file, ": column ", nm, " does not round-trip exactly")
    } else if (!identical(as.character(back[[nm]]), d[[nm]])) {
      # labels that look like numbers (e.g. Insurance District "1".."4") read
      # back as numbers; compare as text.
      if (!identical(as.character(back[[nm]]), as.character(d[[nm]])))
        stop(file, ": column ", nm, " does not round-trip")
    }
  }
  cat(sprintf("%-22s %4d rows %2d columns\n", file, nrow(d), ncol(d)))
}

## Dobson (1990), "An Introduction to Generalized Linear Models", p. 93:
## randomized controlled trial, as in the example of R's ?glm.
dobson <- data.frame(
  counts    = c(18, 17, 15, 20, 10, 20, 25, 13, 12),
  outcome   = paste0("o", gl(3, 1, 9)),
  treatment = paste0("t", gl(3, 3))
)
export(dobson, "dobson.csv")

export(MASS::anorexia, "anorexia.csv")

## MASS's own example (?ships, and MASS 4th ed. section 7.3) fits the model
## with subset = service > 0: rows with no months of service (and therefore no
## incidents) carry no information and log(service) would be -Inf.
export(subset(MASS::ships, service > 0), "ships.csv")

export(MASS::Pima.tr,  "pima.csv")
export(MASS::Pima.tr2, "pima_missing.csv")   # contains NAs
export(MASS::cats,     "cats.csv")
export(MASS::snails,   "snails.csv")

## Budworm data (Collett 1991), as typed in MASS 4th ed. section 7.2:
## 20 moths per batch, numdead killed at dose 2^ldose micrograms.
budworm <- data.frame(
  ldose   = rep(0:5, 2),
  numdead = c(1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16),
  sex     = rep(c("M", "F"), c(6, 6))
)
export(budworm, "budworm.csv")

export(MASS::Melanoma, "melanoma.csv")

## McCullagh & Nelder (1989) p. 300, blood clotting times, from R's ?glm,
## stacked into long form (u = plasma concentration %, time = seconds).
u <- c(5, 10, 15, 20, 30, 40, 60, 80, 100)
lot1 <- c(118, 58, 42, 35, 27, 25, 21, 19, 18)
lot2 <- c(69, 35, 26, 21, 18, 16, 13, 12, 12)
clotting <- data.frame(
  u    = c(u, u),
  lot  = rep(c("lot1", "lot2"), each = length(u)),
  time = c(lot1, lot2)
)
export(clotting, "clotting.csv")

export(MASS::leuk,      "leuk.csv")
export(MASS::menarche,  "menarche.csv")
export(MASS::Insurance, "insurance.csv")   # District labels "1".."4" read back as numbers
export(MASS::quine,     "quine.csv")
export(datasets::warpbreaks,   "warpbreaks.csv")
export(datasets::InsectSprays, "insectsprays.csv")
export(datasets::longley,      "longley.csv")
export(MASS::birthwt,   "birthwt.csv")
export(datasets::esoph, "esoph.csv")
export(MASS::epil,      "epil.csv")

mt <- data.frame(model = rownames(datasets::mtcars), datasets::mtcars,
                 row.names = NULL, stringsAsFactors = FALSE)
export(mt, "mtcars.csv")

## Level order (glmfit issue 24). MASS::Cars93 as shipped: read back, its text
## columns get the levels the reader's collation gives (Origin: "non-USA" before
## "USA" in R's default locales, after it under LC_ALL=C).
export(MASS::Cars93, "cars93.csv")
## mtcars with three of its codes written as words whose order differs between
## ICU's collation and byte order: mixed case, a leading symbol, digits, an
## accent (vs, am, cyl, gear; the numbers are mtcars's own).
export(data.frame(
  model = rownames(datasets::mtcars), mpg = datasets::mtcars$mpg, hp = datasets::mtcars$hp,
  wt = datasets::mtcars$wt, carb = datasets::mtcars$carb,
  engine = ifelse(datasets::mtcars$vs == 1, "straight", "V-shaped"),
  gearbox = ifelse(datasets::mtcars$am == 1, "Manual", "automatic"),
  cylinders = c("4" = "<6 cyl", "6" = "6 cyl", "8" = "\u22658 cyl")[as.character(datasets::mtcars$cyl)],
  gears = c("3" = "\u00e9conomie", "4" = "Familiale", "5" = "sport")[as.character(datasets::mtcars$gear)],
  row.names = NULL, stringsAsFactors = FALSE), "mtcars_labels.csv")

## Longitudinal datasets for GEE (package geepack, Højsgaard, Halekoh & Yan).
## Each has one row per subject and occasion; clusters are contiguous here.
suppressPackageStartupMessages(library(geepack))
data(ohio, package = "geepack")
export(ohio, "ohio.csv")
data(dietox, package = "geepack")
export(dietox, "dietox.csv")                 # Feed is NA at Time 1
## respiratory's id restarts at 1 in each center: patient = 100 * center + id
## is the subject (geepack's examples use id = interaction(center, id)).
data(respiratory, package = "geepack")
respiratory$patient <- 100L * respiratory$center + respiratory$id
export(respiratory, "respiratory.csv")
data(muscatine, package = "geepack")
export(muscatine, "muscatine.csv")           # obese/numobese NA when not measured
## Potthoff & Roy (1964) orthodontic growth data, as shipped with R's
## recommended package nlme: distance (mm) from the pituitary to the
## pterygomaxillary fissure of 27 children at ages 8, 10, 12 and 14.
data(Orthodont, package = "nlme")
export(data.frame(distance = Orthodont$distance, age = Orthodont$age,
                  Subject = as.character(Orthodont$Subject),
                  Sex = as.character(Orthodont$Sex)), "orthodont.csv")

## Categorical responses for --family multinomial and ordinal (MASS, Venables &
## Ripley). housing: Copenhagen housing satisfaction survey, one row per cell with
## its count Freq (case weights); Sat as text, and satisfaction = 1 (Low), 2
## (Medium), 3 (High) as numbers, whose numeric order is the ordinal order (a
## text response's levels sort as text: High, Low, Medium).
data(housing, package = "MASS")
export(data.frame(Sat = as.character(housing$Sat), satisfaction = as.integer(housing$Sat),
                  Infl = as.character(housing$Infl), Type = as.character(housing$Type),
                  Cont = as.character(housing$Cont), Freq = housing$Freq), "housing.csv")
## fgl: forensic glass fragments, six types, refractive index and oxide contents.
data(fgl, package = "MASS")
export(data.frame(fgl[, 1:9], type = as.character(fgl$type)), "fgl.csv")
## Fair's (1978) extramarital affairs survey, as shipped with AER (used for a
## logical response: I(affairs > 0) ~ ...).
data(Affairs, package = "AER")
export(Affairs, "affairs.csv")

## Count responses with many zeros for --zero-inflated and --hurdle (pscl) and a
## response with zeros for --family tweedie (statmod). bioChemists: articles by
## 915 biochemistry PhD students (Long 1990, shipped with pscl). nmes1988: the
## physician office visits of 4406 US elderly (Deb & Trivedi 1997, shipped with
## AER), the columns of the book's models.
data(bioChemists, package = "pscl")
export(bioChemists, "biochemists.csv")
data(NMES1988, package = "AER")
export(NMES1988[, c("visits", "hospital", "health", "chronic", "gender", "school", "insurance",
                    "income", "age")], "nmes1988.csv")

## High-cardinality factors (glmfit issue 25). lme4::InstEval: 73,421 course
## ratings (y, 1-5) at ETH Zurich, by student s (2,972), instructor d (1,128
## levels), student's semester studage, lecture's age lectage, service lecture
## (0/1) and department dept (14). The codes of s, d and dept are written as
## text with a letter and zero padding (S0001, I0001, D01), so that every reader
## takes them as factors and byte order is lme4's numeric level order; studage,
## lectage and service keep their numeric labels (use factor() for a factor).
## good = y >= 4 is the 0/1 response of the logistic fits. About 2.2 MB, so it
## is stored gzip-compressed (glmfit and read.csv both read it as it is).
suppressPackageStartupMessages(library(lme4))
data(InstEval, package = "lme4")
code <- function(f, prefix, width) sprintf("%s%0*d", prefix, width, as.integer(as.character(f)))
insteval <- data.frame(
  s = code(InstEval$s, "S", 4), d = code(InstEval$d, "I", 4),
  studage = as.integer(as.character(InstEval$studage)),
  lectage = as.integer(as.character(InstEval$lectage)),
  service = as.integer(as.character(InstEval$service)),
  dept = code(InstEval$dept, "D", 2),
  y = InstEval$y, good = as.integer(InstEval$y >= 4), stringsAsFactors = FALSE)
stopifnot(identical(sort(unique(insteval$d)), code(levels(InstEval$d), "I", 4)),
          identical(sort(unique(insteval$s)), code(levels(InstEval$s), "S", 4)))
export(insteval, "insteval.csv")
local({
  plain <- file.path(outdir, "insteval.csv")
  text <- readLines(plain)
  con <- gzfile(paste0(plain, ".gz"), "wb", compression = 9)
  writeLines(text, con)
  close(con)
  stopifnot(identical(readLines(paste0(plain, ".gz")), text))
  invisible(file.remove(plain))
})

## Smaller real datasets with crossed and nested factors and factors with many
## levels (lme4's examples, datasets::ChickWeight), for the factor reference
## cases. Labels are written as they are: numeric labels (Subject 308..., herd,
## period, LOCATION, BROOD, YEAR, gen, Chick, Diet, replicate) read back as
## numbers, so the models write factor(...) for them.
data(sleepstudy, package = "lme4")
export(sleepstudy, "sleepstudy.csv")     # Reaction by Days of sleep deprivation, 18 Subjects
data(Penicillin, package = "lme4")
export(Penicillin, "penicillin.csv")     # 24 plates x 6 samples, crossed, one diameter each
data(Pastes, package = "lme4")
export(Pastes, "pastes.csv")             # 3 casks nested in each of 10 batches; sample = batch:cask
data(cake, package = "lme4")
## temperature (an ordered factor) is temp as text; write temp only.
export(cake[, c("replicate", "recipe", "temp", "angle")], "cake.csv")
data(cbpp, package = "lme4")
export(cbpp, "cbpp.csv")                 # contagious bovine pleuropneumonia in 15 herds, 4 periods
data(grouseticks, package = "lme4")
## INDEX is the row number; cHEIGHT is HEIGHT centred.
export(grouseticks[, c("TICKS", "BROOD", "HEIGHT", "YEAR", "LOCATION")], "grouseticks.csv")
data(Arabidopsis, package = "lme4")
export(Arabidopsis, "arabidopsis.csv")   # fruits of 24 genotypes nested in 9 populations
export(data.frame(weight = datasets::ChickWeight$weight, Time = datasets::ChickWeight$Time,
                  Chick = as.integer(as.character(datasets::ChickWeight$Chick)),
                  Diet = as.integer(as.character(datasets::ChickWeight$Diet))),
       "chickweight.csv")                # 50 chicks nested in 4 diets, weighed over 21 days
