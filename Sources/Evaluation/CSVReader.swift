/// Comma-separated values as RFC 4180 writes them: fields in double quotes
/// may hold commas, newlines and `""` for a quote; lines end in LF or CRLF.
enum CSVReader {
    /// One record and the line it starts on (from 1).
    struct Record: Equatable {
        var fields: [String]
        var line: Int
    }

    /// A quoted field left open at the end of the text.
    struct UnterminatedQuote: Error {
        /// The line where the field starts.
        var line: Int
    }

    /// The records of `text`; blank lines are skipped.
    static func records(_ text: String) throws(UnterminatedQuote) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var line = 1
        var recordLine = 1
        var quoteLine = 1
        var inQuotes = false
        var afterQuote = false  // just read a quote inside a quoted field: `""` or the end
        var recordHasContent = false

        func endRecord() {
            if recordHasContent || !field.isEmpty || !fields.isEmpty {
                fields.append(field)
                records.append(Record(fields: fields, line: recordLine))
            }
            fields = []
            field = ""
            recordHasContent = false
        }

        for character in text {
            if inQuotes {
                if afterQuote {
                    afterQuote = false
                    if character == "\"" {
                        field.append("\"")
                        continue
                    }
                    inQuotes = false  // the closing quote: fall through to read `character` unquoted
                } else if character == "\"" {
                    afterQuote = true
                    continue
                } else {
                    if character == "\n" || character == "\r\n" { line += 1 }
                    field.append(character)
                    continue
                }
            }
            switch character {
            case "\"" where field.isEmpty:
                inQuotes = true
                quoteLine = line
                recordHasContent = true
            case ",":
                fields.append(field)
                field = ""
                recordHasContent = true
            case "\n", "\r\n":
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(character)
            }
        }
        if inQuotes && !afterQuote { throw UnterminatedQuote(line: quoteLine) }
        endRecord()
        return records
    }
}
