import GLMCore

/// The text of `glmfit --help` that is not one option's: the families and their links (the
/// one list of them; a new family is one line here), formats, formulas and examples. Every
/// line fits in 80 columns (a test checks).
enum HelpText {
    /// Each family `--family` takes and its links, the default first.
    static let families: [(name: String, links: String)] = [
        ("gaussian", "identity, log, inverse"),
        ("binomial", "logit, probit, cauchit, log, cloglog"),
        ("poisson", "log, identity, sqrt"),
        ("gamma", "inverse, identity, log"),
        ("inverse-gaussian", "1/mu^2 (or inverse-squared), inverse, identity, log"),
        ("quasipoisson", "log, identity, sqrt"),
        ("quasibinomial", "logit, probit, cauchit, log, cloglog"),
        ("negative-binomial", "log, sqrt, identity (theta by maximum likelihood as MASS::glm.nb, or fixed with --theta)"),
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

        FAMILIES (--family) and the links each allows (first = default):
        \(familyTable)

        FORMATS (--format): text (R's summary layout), json (one object), csv (one row per \
        coefficient).

        FORMULAS: y ~ x1 + x2, a*b, a:b, (a + b + c)^2, a/b, ., -1 or +0, I(x^2), log(x), \
        log2, log10, log1p, exp, sqrt, abs, factor(x), offset(log(n)), cbind(successes, failures). \
        Text columns are factors with treatment contrasts; levels are sorted as R sorts them in the same \
        environment (ICU's collation for the locale of LC_ALL, else LC_COLLATE, else LANG; byte order \
        when that is C or POSIX), and the first is the reference (--ref chooses another). Rows with a \
        missing value in a used variable are dropped.

        INPUT: comma-separated by default; tab-separated for .tsv and .tab files; --delimiter ';' \
        and --decimal , for R's write.csv2. gzip, xz, zstd and bzip2 files or standard input are \
        decompressed as they are read.

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
          Bounded memory, a compressed file, and R's write.csv2 dialect:
            glmfit big.csv.gz --chunk-rows 100000 -f "y ~ x1 + x2"
            glmfit data.csv --delimiter ';' --decimal , -f "y ~ x"
        """
    }
}
