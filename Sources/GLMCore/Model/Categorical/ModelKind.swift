/// The kind of model a fit is: the GLM (IRLS, with its negative binomial and GEE variants)
/// or a plug-in kind beside it.
///
/// How a model kind plugs in (multinomial and ordinal are the first two; zero-inflated,
/// hurdle and Tweedie are meant to follow the same shape):
///
/// 1. A case here, chosen once from the options (`ModelKind(request:)`), and a
///    `Pipeline.fit…` entry (see `CategoricalPipeline.swift`) that reads the table with the
///    shared `Pipeline.readTable`, builds the shared `ModelFrame` and `Design`, and refuses
///    the options that do not apply to the kind, each with a message
///    (`refuseInapplicableOptions`).
/// 2. The fit in its own folder under `Model/` (here `Model/Categorical/`): its own
///    log-likelihood, analytic score and Hessian over the shared design, Newton iterations
///    to the exact maximum, started as R starts them; row passes through `ParallelRows`
///    with no per-row allocation.
/// 3. A report value (here `CategoricalReport`) with everything the renderers print:
///    coefficients as `CoefficientSummary` rows with a `component`, log-likelihood, AIC,
///    BIC, the covariance, warnings. Comparisons (`--compare`, an LRT of nested fits of
///    the kind) and `--wald` restrictions are computed from the kind's own fits.
/// 4. Renderers in `GLMReport` (text in R's layout for the kind, JSON with `model` set to
///    the kind's name, CSV with a `component` column) and one `case` in the executable's
///    `FitCommand` dispatch.
/// 5. For `--save`/`glmfit predict`: the kind's parameters in the saved model's
///    `categorical` member (`SavedModel.categorical`), scored by the kind's own predictor.
public enum ModelKind: String, Sendable, Equatable {
    case glm
    /// nnet::multinom: a baseline-category logit for an unordered response.
    case multinomial
    /// MASS::polr: a cumulative-link model for an ordered response.
    case ordinal
    /// pscl::zeroinfl: a count model mixed with a point mass at zero (`--zero-inflated`).
    case zeroInflated = "zero-inflated"
    /// pscl::hurdle: a binary hurdle at zero and a zero-truncated count model (`--hurdle`).
    case hurdle

    /// The kind a `--family` name asks for: `multinomial` and `ordinal` are kinds of their
    /// own; every other family is a GLM.
    public init(family: String) {
        switch family.lowercased() {
        case "multinomial", "multinom": self = .multinomial
        case "ordinal", "polr", "ordered": self = .ordinal
        default: self = .glm
        }
    }

    /// "a multinomial", "an ordinal", "a glm": for messages.
    public var withArticle: String { (self == .ordinal ? "an " : "a ") + rawValue }
}
