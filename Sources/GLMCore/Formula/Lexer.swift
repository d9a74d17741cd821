/// A token of an R formula, with its character offset for error carets.
struct FormulaToken: Equatable {
    enum Kind: Equatable {
        case name(String)        // a column or function name; backquoted names unquoted
        case number(Double, String)
        /// A string constant (`"b"` or `'b'`), its escapes resolved.
        case string(String)
        /// `TRUE` or `FALSE` written bare (a backquoted one is a name).
        case logical(Bool)
        case op(String)          // ~ + - * / : ^ %in%
        case leftParen, rightParen, comma
        /// `=` between an argument's name and its value, as in `log(x, base = 2)`.
        case equals
        case end
    }
    let kind: Kind
    let position: Int
}

/// Splits an R formula into tokens.
struct FormulaLexer {
    let formula: String

    func tokens() throws -> [FormulaToken] {
        let characters = Array(formula)
        var result: [FormulaToken] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let start = index
            if character.isWhitespace {
                index += 1
                continue
            }
            if character == "`" {
                index += 1
                var name = ""
                while index < characters.count, characters[index] != "`" {
                    name.append(characters[index])
                    index += 1
                }
                guard index < characters.count else {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "unterminated backquoted name")
                }
                index += 1
                if name.isEmpty {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "empty backquoted name")
                }
                result.append(FormulaToken(kind: .name(name), position: start))
                continue
            }
            if character == "\"" || character == "'" {
                result.append(FormulaToken(kind: .string(try stringLiteral(characters, from: &index)), position: start))
                continue
            }
            if character.isNumber || (character == "." && index + 1 < characters.count && characters[index + 1].isNumber) {
                var text = ""
                while index < characters.count, characters[index].isNumber || characters[index] == "." {
                    text.append(characters[index])
                    index += 1
                }
                if index < characters.count, characters[index] == "e" || characters[index] == "E" {
                    var exponent = String(characters[index])
                    var lookahead = index + 1
                    if lookahead < characters.count, characters[lookahead] == "+" || characters[lookahead] == "-" {
                        exponent.append(characters[lookahead])
                        lookahead += 1
                    }
                    if lookahead < characters.count, characters[lookahead].isNumber {
                        while lookahead < characters.count, characters[lookahead].isNumber {
                            exponent.append(characters[lookahead])
                            lookahead += 1
                        }
                        text += exponent
                        index = lookahead
                    }
                }
                if index < characters.count, characters[index] == "L" { index += 1 }
                guard let value = Double(text) else {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "malformed number '\(text)'")
                }
                result.append(FormulaToken(kind: .number(value, text), position: start))
                continue
            }
            if character.isLetter || character == "." || character == "_" {
                var name = ""
                while index < characters.count,
                      characters[index].isLetter || characters[index].isNumber || characters[index] == "." || characters[index] == "_" {
                    name.append(characters[index])
                    index += 1
                }
                // `splines::ns`: a function named with its package, one name as R deparses it.
                if index + 2 < characters.count, characters[index] == ":", characters[index + 1] == ":",
                   characters[index + 2].isLetter || characters[index + 2] == "." {
                    name += "::"
                    index += 2
                    while index < characters.count,
                          characters[index].isLetter || characters[index].isNumber || characters[index] == "."
                            || characters[index] == "_" {
                        name.append(characters[index])
                        index += 1
                    }
                }
                if name.first == "_" {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "a name cannot start with '_'; quote it with backticks")
                }
                if name == "TRUE" || name == "FALSE" {
                    result.append(FormulaToken(kind: .logical(name == "TRUE"), position: start))
                } else {
                    result.append(FormulaToken(kind: .name(name), position: start))
                }
                continue
            }
            switch character {
            case "~", "+", "-", "*", "/", ":", "^":
                result.append(FormulaToken(kind: .op(String(character)), position: start))
                index += 1
            case "(":
                result.append(FormulaToken(kind: .leftParen, position: start))
                index += 1
            case ")":
                result.append(FormulaToken(kind: .rightParen, position: start))
                index += 1
            case ",":
                result.append(FormulaToken(kind: .comma, position: start))
                index += 1
            case "=":
                result.append(FormulaToken(kind: .equals, position: start))
                index += 1
            case "%":
                var op = "%"
                index += 1
                while index < characters.count, characters[index] != "%" {
                    op.append(characters[index])
                    index += 1
                }
                guard index < characters.count else {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "unterminated operator '\(op)'")
                }
                op.append("%")
                index += 1
                guard op == "%in%" else {
                    throw GLMError.formulaSyntax(formula: formula, position: start, message: "unsupported operator '\(op)'")
                }
                result.append(FormulaToken(kind: .op(op), position: start))
            default:
                throw GLMError.formulaSyntax(formula: formula, position: start, message: "unexpected character '\(character)'")
            }
        }
        result.append(FormulaToken(kind: .end, position: characters.count))
        return result
    }

    /// Reads a string literal starting at the quote at `index` (R's escapes `\\`, `\"`,
    /// `\'`, `\n`, `\t`), leaving `index` after the closing quote.
    private func stringLiteral(_ characters: [Character], from index: inout Int) throws -> String {
        let start = index
        let quote = characters[index]
        index += 1
        var text = ""
        while index < characters.count, characters[index] != quote {
            if characters[index] == "\\" {
                index += 1
                guard index < characters.count else { break }
                switch characters[index] {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "\\", "\"", "'": text.append(characters[index])
                default:
                    throw GLMError.formulaSyntax(
                        formula: formula, position: index - 1, message: "unsupported escape '\\\(characters[index])' in a string")
                }
            } else {
                text.append(characters[index])
            }
            index += 1
        }
        guard index < characters.count else {
            throw GLMError.formulaSyntax(formula: formula, position: start, message: "unterminated string")
        }
        index += 1
        return text
    }
}
