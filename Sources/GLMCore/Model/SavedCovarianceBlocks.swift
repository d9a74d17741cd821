/// The covariance of a model fitted by blocks, as `--save` stores it when the matrix is not
/// formed (`GLMSummary.vcovOmitted`): in numbers that grow with the levels and the other
/// columns, not with p².
///
/// With E the eliminated factor term (`BlockLayout`), D its diagonal of XᵀWX, B its table
/// against the other columns, A = D⁻¹B and S the others' Schur complement, the covariance is
///
///     φ [ D⁻¹ + A S⁻¹ Aᵀ   −A S⁻¹ ]
///       [ −S⁻¹ Aᵀ            S⁻¹  ]
///
/// (φ the dispersion), so it is kept as φ/D (`variances`), φS⁻¹ (`othersCovariance`) and A
/// by its non-zero entries (`cross`), over the non-aliased columns only.
extension SavedModel {
    public struct CovarianceBlocks: Sendable, Equatable {
        /// One row of A: the others' indices where it is not zero, ascending, and its values.
        public struct SparseRow: Sendable, Equatable {
            public var indices: [Int]
            public var values: [Double]
        }

        /// The eliminated term's label.
        public var term: String
        /// Its non-aliased columns, and φ/D for each.
        public var eliminated: [String]
        public var variances: [Double]
        /// The other non-aliased columns, and φS⁻¹ over them (row-major, square).
        public var others: [String]
        public var othersCovariance: [Double]
        /// A = D⁻¹B: one row per eliminated column, over `others`.
        public var cross: [SparseRow]

        /// The blocks of a summary's covariance; `names` are the design's column names.
        init(_ covariance: BlockCovariance, dispersion: Double, names: [String], termLabel: String) {
            let factor = covariance.factor
            let layout = factor.layout
            let k = factor.keptRest.count
            term = termLabel
            eliminated = factor.keptEliminated.map { names[layout.eliminatedFirst + $0] }
            // Back from the scaled columns (`BlockCovariance.scales`; all 1 but for columns of
            // extreme magnitude): D = D'/s_E², S⁻¹ = S S'⁻¹ S and A = A'·s_E/s_j.
            let levelScale = covariance.scale(layout.eliminatedFirst)
            let restScales = factor.keptRest.map { covariance.scale(layout.restColumns[$0]) }
            variances = factor.keptEliminated.map { dispersion / factor.diagonal[$0] * levelScale * levelScale }
            others = factor.keptRest.map { names[layout.restColumns[$0]] }
            // S⁻¹ is symmetric: column-major and row-major are the same array.
            othersCovariance = covariance.inverse.enumerated().map { index, value in
                k == 0 ? dispersion * value : dispersion * value * restScales[index % k] * restScales[index / k]
            }
            cross = factor.keptEliminated.indices.map { position in
                var row = SparseRow(indices: [], values: [])
                for index in 0..<k where covariance.scaledCross[position * k + index] != 0 {
                    row.indices.append(index)
                    row.values.append(covariance.scaledCross[position * k + index] * levelScale / restScales[index])
                }
                return row
            }
        }

        /// The `vcov_blocks` member of a model file: S⁻¹ as the rows of its upper triangle
        /// (row i from column i on), A as an object per eliminated column.
        var json: JSONText {
            let q = others.count
            return .object([
                ("term", .string(term)),
                ("eliminated", .array(eliminated.map { .string($0) })),
                ("variances", .array(variances.map { .number($0) })),
                ("others", .array(others.map { .string($0) })),
                ("others_vcov", .array((0..<q).map { i in .array((i..<q).map { .number(othersCovariance[i * q + $0]) }) })),
                ("cross", .array(cross.map { row in
                    .object([
                        ("others", .array(row.indices.map { .number(Double($0)) })),
                        ("values", .array(row.values.map { .number($0) })),
                    ])
                })),
            ])
        }
    }
}

extension SavedModel.CovarianceBlocks {
    /// Reads and checks the `vcov_blocks` member: the columns are the non-aliased
    /// coefficients (`kept`, each once), the eliminated ones all of `term`; every number is
    /// finite (`null` is read as NaN) and every variance non-negative, except that with
    /// `undefined` (no residual degrees of freedom) φ/D and φS⁻¹ may be all NaN; the sizes
    /// agree and A's indices are in range, ascending, without repeats.
    init(json value: JSONText, kept: [String], coefficientTerms: [String: String], reader: ModelFileReader, undefined: Bool) throws {
        let context = "vcov_blocks"
        term = try reader.string(value, "term")
        eliminated = try reader.array(value, "eliminated").map { try reader.string($0, in: "\(context) columns") }
        others = try reader.array(value, "others").map { try reader.string($0, in: "\(context) columns") }
        var seen = Set<String>()
        for name in eliminated + others where !seen.insert(name).inserted {
            throw reader.invalid("the covariance blocks list the column '\(name)' twice")
        }
        guard seen == Set(kept), seen.count == kept.count else {
            throw reader.invalid(
                "the covariance blocks are not over the non-aliased coefficients (\(kept.joined(separator: ", ")))")
        }
        for name in eliminated where coefficientTerms[name] != term {
            throw reader.invalid("the covariance blocks' eliminated column '\(name)' is not a column of the term '\(term)'")
        }
        let m = eliminated.count, q = others.count

        variances = try reader.numbers(try reader.member(value, "variances"), in: "\(context) variances")
        guard variances.count == m else {
            throw reader.invalid("the covariance blocks have \(variances.count) variances for \(m) eliminated columns")
        }
        let rows = try reader.array(value, "others_vcov")
        guard rows.count == q else {
            throw reader.invalid("the covariance blocks' others_vcov has \(rows.count) rows for \(q) columns")
        }
        var matrix = [Double](repeating: 0, count: q * q)
        for (i, row) in rows.enumerated() {
            let values = try reader.numbers(row, in: "\(context) others_vcov")
            guard values.count == q - i else {
                throw reader.invalid(
                    "the covariance blocks' others_vcov row \(i + 1) ('\(others[i])') has \(values.count) numbers, not \(q - i)")
            }
            for (offset, number) in values.enumerated() {
                matrix[i * q + i + offset] = number
                matrix[(i + offset) * q + i] = number
            }
        }
        othersCovariance = matrix
        let cross = try reader.array(value, "cross")
        let (eliminated, others) = (self.eliminated, self.others)
        guard cross.count == m else {
            throw reader.invalid("the covariance blocks' cross has \(cross.count) rows for \(m) eliminated columns")
        }
        self.cross = try cross.enumerated().map { position, row in
            let name = eliminated[position]
            let indices = try reader.array(row, "others").map { try reader.index($0, below: q, in: "\(context) cross of '\(name)'") }
            let values = try reader.numbers(try reader.member(row, "values"), in: "\(context) cross of '\(name)'")
            guard values.count == indices.count else {
                throw reader.invalid("the covariance blocks' cross of '\(name)' has \(indices.count) indices but \(values.count) values")
            }
            for (a, b) in zip(indices, indices.dropFirst()) where b <= a {
                throw reader.invalid("the covariance blocks' cross of '\(name)' lists its columns out of order or twice ('\(others[b])')")
            }
            for (index, number) in zip(indices, values) where !number.isFinite {
                throw reader.invalid("the covariance blocks' cross entry ('\(name)', '\(others[index])') is not a finite number")
            }
            return SparseRow(indices: indices, values: values)
        }

        if undefined, variances.allSatisfy(\.isNaN), othersCovariance.allSatisfy(\.isNaN) { return }
        for (name, variance) in zip(eliminated, variances) {
            guard variance.isFinite else { throw reader.invalid("the covariance blocks' variance of '\(name)' is not a finite number") }
            guard variance >= 0 else { throw reader.invalid("the covariance blocks have a negative variance for '\(name)' (\(variance))") }
        }
        for i in 0..<q {
            for j in i..<q where !othersCovariance[i * q + j].isFinite {
                throw reader.invalid(
                    "the covariance blocks' others_vcov entry ('\(others[i])', '\(others[j])') is not a finite number")
            }
            if othersCovariance[i * q + i] < 0 {
                throw reader.invalid(
                    "the covariance blocks have a negative variance for '\(others[i])' (\(othersCovariance[i * q + i]))")
            }
        }
    }
}
