import GLMCore

/// The text of `glmfit --help` that is not one option's: the families and their links (the
/// one list of them; a new family is one line here), formats, formulas and examples. Every
/// line fits in 80 columns (a test checks).
enum HelpText {
    /// Each family `--family` takes and its default link (a GLM family takes any of R's link
    /// names, see LINKS).
    static let families: [(name: String, links: String)] = [
        ("gaussian", "identity"),
        ("binomial", "logit"),
        ("poisson", "log"),
        ("gamma", "inverse"),
        ("inverse-gaussian", "1/mu^2 (or inverse-squared)"),
        ("quasipoisson", "log"),
        ("quasibinomial", "logit"),
        ("negative-binomial", "log (theta by maximum likelihood as MASS::glm.nb, or fixed with --theta)"),
        ("tweedie", "log; power links only: identity, inverse, sqrt, 1/mu^2 (statmod::tweedie, with --var-power p, 0 or p >= 1)"),
        ("multinomial", "logit (nnet::multinom; the response's first level is the baseline)"),
        ("ordinal", "logit, probit, cloglog, loglog, cauchit (MASS::polr; levels in order)"),
    ]

    static var familyNames: String { families.map(\.name).joined(separator: ", ") }

    /// The families table, the links wrapped under their column.
    static var familyTable: String {
        let width = (families.map(\.name.count).max() ?? 0) + 2
        return families.map { family in
            let pad = String(repeating: " ", count: width - family.name.count)
            return wrap(family.links, width: 76 - width).enumerated().map { index, line in
                (index == 0 ? "  " + family.name + pad : String(repeating: " ", count: width + 2)) + line
            }.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    static var fitDiscussion: String {
        """
        Reads a CSV file (or standard input with -) and an R model formula, fits the model by \
        iteratively reweighted least squares exactly as R's glm() does, and prints what \
        summary(glm(...)) prints, plus Wald confidence intervals and exp'd odds or rate ratios.

        FAMILIES (--family) and their default links:
        \(familyTable)

        LINKS (--link): any of R's make.link names for any GLM family, as R allows: \
        logit, probit, cauchit, cloglog, identity, log, sqrt, 1/mu^2 (or inverse-squared), \
        inverse. As in R, only the fitted values are checked (binomial identity must keep \
        every probability in (0, 1)), with R's errors.

        COUNT MODELS: --zero-inflated (pscl::zeroinfl) or --hurdle (pscl::hurdle) with \
        --family poisson, negative-binomial or geometric and --zero-link logit, probit, \
        cloglog, cauchit or log; the formula 'y ~ x1 + x2 | z1' has the count part before \
        the bar and the zero part after ('| 1': an intercept only; no bar: the same \
        regressors). --vuong tests the fit against its plain count model (pscl::vuong).

        FORMATS (--format): text (R's summary layout), json (one object), csv (one row per \
        coefficient).

        FORMULAS: y ~ x1 + x2, a*b, a:b, (a + b + c)^2, a/b, ., -1 or +0, I(x^2), log(x), \
        log2, log10, log1p, exp, sqrt, abs, factor(x), offset(log(n)), cbind(successes, failures); \
        inside I() or a function: + - * / ^ %% %/%, comparisons < <= > >= == != (text == "a"), \
        & | !, x %in% c(4, 6), TRUE/FALSE, log(x, base = 2), round(x, digits = 1), signif, floor, \
        ceiling, trunc, pmin, pmax, ifelse(test, yes, no), and mean, median, sd, var, sum, min, \
        max, length of a column (computed on every input row, before --subset, and kept by \
        --save for predict). A logical predictor is a factor FALSE/TRUE (column I(x > 2)TRUE); \
        a logical response is 0/1. factor(x, levels = c(...), labels =, ordered =), ordered(x), \
        relevel(f, ref = "b"), C(f, contr.sum | helmert | poly | SAS | treatment, base =); \
        poly(x, 2, raw =), splines::ns(x, df =, knots =, Boundary.knots =, intercept =), \
        bs(x, df =, knots =, degree =), scale(x, center =, scale =), cut(x, breaks, right =, \
        include.lowest =). --subset EXPR fits the rows where EXPR is TRUE. \
        Text columns are factors with treatment contrasts (--contrasts sets the defaults); levels are sorted as R sorts them in the same \
        environment (ICU's collation for the locale of LC_ALL, else LC_COLLATE, else LANG; byte order \
        when that is C or POSIX), and the first is the reference (--ref chooses another). Rows with a \
        missing value in a used variable are dropped.

        INPUT: comma-separated by default; tab-separated for .tsv and .tab files; --delimiter ';' \
        and --decimal , for R's write.csv2. gzip, xz, zstd and bzip2 files or standard input are \
        decompressed as they are read.

        AGGREGATED DATA: --frequency-weights n fits a table grouped by its covariates and \
        response with count(*) AS n (DuckDB, Spark SQL, BigQuery) as the rows it counts: \
        the same estimates, standard errors, dispersion, degrees of freedom, deviance, AIC \
        and BIC, for every GLM family, with --chunk-rows too. Counts multiply --weights.

        SAVED MODELS: --save model.json writes the model for 'glmfit predict model.json new.csv' \
        (see 'glmfit predict --help'); --residuals file.csv writes per-row diagnostics.

        EXAMPLES:
          A poisson fit, and the same from standard input as JSON:
            glmfit Examples/dobson.csv --family poisson \\
                -f "counts ~ outcome + treatment"
            cat Examples/dobson.csv | glmfit - --family poisson --format json \\
                -f "counts ~ outcome + treatment"
          Binomial counts, with R's analysis of deviance:
            glmfit Examples/budworm.csv --family binomial --anova \\
                -f "cbind(numdead, 20 - numdead) ~ sex*ldose"
          A rate with an offset, sandwich standard errors, saved for predict:
            glmfit Examples/ships.csv --family poisson --vcov HC0 --save ships.json \\
                -f "incidents ~ type + offset(log(service))"
          A GEE with an exchangeable working correlation:
            glmfit Examples/ohio.csv --family binomial --id id --corstr exchangeable \\
                -f "resp ~ age + smoke"
          Negative binomial, theta estimated:
            glmfit Examples/quine.csv --family negative-binomial \\
                -f "Days ~ Eth + Sex + Age"
          A table aggregated by count(*), fitted as its rows:
            glmfit esoph_counts.csv --family binomial --frequency-weights n \\
                -f "case ~ agegp + alcgp + tobgp"
          Bounded memory, a compressed file, and R's write.csv2 dialect:
            glmfit big.csv.gz --chunk-rows 100000 -f "y ~ x1 + x2"
            glmfit data.csv --delimiter ';' --decimal , -f "y ~ x"
        """
    }
}
